"""smolagents runner: ToolCallingAgent + OpenAIServerModel (HTTP) / a custom `Model` subclass (in-process).

smolagents is synchronous (agent.run); concurrency therefore uses one thread per task.
Its ToolCallingAgent ends only on a call to its built-in `final_answer` tool, so the fake
server (and the scripted model) answer the last turn with that call.
Console output is switched off (verbosity_level=LogLevel.OFF): by default it renders rich
panels for every step, which would be charged to its CPU time (and clutter the output).
The agent is reused between sequential tasks with `run(..., reset=True)` (its documented way);
under concurrency every task gets its own agent (the agent holds the conversation memory).
"""

import _common as C

SYNC = True


def imports():
    global ToolCallingAgent, OpenAIServerModel, tool, LogLevel
    from smolagents import LogLevel, OpenAIServerModel, ToolCallingAgent, tool


def _tool():
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers.

        Args:
            a: The first integer.
            b: The second integer.
        """
        return a + b

    return add


def _agent_factory(model):
    add = _tool()

    def new():
        return ToolCallingAgent(tools=[add], model=model, max_steps=20, instructions=C.SYSTEM,
                                verbosity_level=LogLevel.OFF)

    return new


def _runner(model, turns: int, reuse: bool):
    new = _agent_factory(model)
    task = C.task_text(turns)
    shared = new() if reuse else None

    def run_one():
        agent = shared or new()
        return agent.run(task, reset=True)

    return run_one


def make_http(base_url: str, turns: int):
    model = OpenAIServerModel(model_id=C.MODEL, api_base=base_url, api_key=C.API_KEY)
    return _runner(model, turns, reuse=turns == C.CPU_TURNS)


def make_inproc(turns: int):
    from smolagents.models import (ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole,
                                   Model)

    class Scripted(Model):
        def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None,
                     **kwargs):
            k = sum(1 for m in messages if getattr(m, "role", None) == MessageRole.TOOL_RESPONSE)
            s = C.script(k, turns)
            if s[0] == "call":
                fn = ChatMessageToolCallFunction(name="add", arguments={"a": s[2], "b": s[3]})
            else:
                fn = ChatMessageToolCallFunction(name="final_answer", arguments={"answer": s[1]})
            call = ChatMessageToolCall(function=fn, id=f"call_{k}", type="function")
            return ChatMessage(role=MessageRole.ASSISTANT, content=None, tool_calls=[call])

    return _runner(Scripted(model_id=C.MODEL), turns, reuse=True)


if __name__ == "__main__":
    C.main(__import__(__name__))
