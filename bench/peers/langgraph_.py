"""langgraph runner: prebuilt create_react_agent + langchain-openai ChatOpenAI (HTTP) / a custom BaseChatModel (in-process).

`langgraph.prebuilt.create_react_agent` is langgraph's own ReAct agent (langchain 1.x also
offers `langchain.agents.create_agent`, built on it). No checkpointer (none by default); the
compiled graph is stateless and shared by all tasks. LangSmith tracing is off unless
LANGSMITH_TRACING / LANGCHAIN_TRACING_V2 is set (the bench sets them to false explicitly).
"""

import _common as C

SYNC = False


def imports():
    global create_react_agent, ChatOpenAI, tool
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import create_react_agent


def _runner(model, turns: int):
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    graph = create_react_agent(model, tools=[add], prompt=C.SYSTEM)
    task = C.task_text(turns)

    async def run_one():
        state = await graph.ainvoke({"messages": [{"role": "user", "content": task}]},
                                    config={"recursion_limit": 50})
        return state["messages"][-1].content

    return run_one


def make_http(base_url: str, turns: int):
    return _runner(ChatOpenAI(model=C.MODEL, base_url=base_url, api_key=C.API_KEY), turns)


def make_inproc(turns: int):
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class Scripted(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "scripted"

        def bind_tools(self, tools, **kwargs):
            return self

        def _result(self, messages) -> ChatResult:
            k = sum(1 for m in messages if isinstance(m, ToolMessage))
            s = C.script(k, turns)
            if s[0] == "call":
                msg = AIMessage(content="", tool_calls=[{"name": "add", "args": {"a": s[2], "b": s[3]},
                                                         "id": s[1], "type": "tool_call"}])
            else:
                msg = AIMessage(content=s[1])
            return ChatResult(generations=[ChatGeneration(message=msg)])

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            return self._result(messages)

        async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
            return self._result(messages)

    return _runner(Scripted(), turns)


if __name__ == "__main__":
    C.main(__import__(__name__))
