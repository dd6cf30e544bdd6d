"""pydantic-ai runner: Agent + OpenAIChatModel/OpenAIProvider (HTTP) / FunctionModel (in-process).

Installed as pydantic-ai-slim[openai] (the full `pydantic-ai` only adds other providers' SDKs,
which `import pydantic_ai` does not load). Instrumentation (logfire/OpenTelemetry) is off by
default. The Agent is stateless configuration: one shared Agent for all tasks.
"""

import _common as C

SYNC = False


def imports():
    global Agent, OpenAIChatModel, OpenAIProvider
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _runner(model, turns: int):
    agent = Agent(model, instructions=C.SYSTEM, tools=[add])
    task = C.task_text(turns)

    async def run_one():
        result = await agent.run(task)
        return result.output

    return run_one


def make_http(base_url: str, turns: int):
    model = OpenAIChatModel(C.MODEL, provider=OpenAIProvider(base_url=base_url, api_key=C.API_KEY))
    return _runner(model, turns)


def make_inproc(turns: int):
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    async def fn(messages, info):
        k = sum(1 for m in messages for p in getattr(m, "parts", ()) if isinstance(p, ToolReturnPart))
        s = C.script(k, turns)
        if s[0] == "call":
            return ModelResponse(parts=[ToolCallPart(tool_name="add", args={"a": s[2], "b": s[3]},
                                                     tool_call_id=s[1])])
        return ModelResponse(parts=[TextPart(s[1])])

    return _runner(FunctionModel(fn, model_name=C.MODEL), turns)


if __name__ == "__main__":
    C.main(__import__(__name__))
