"""autogen-agentchat runner: AssistantAgent + OpenAIChatCompletionClient (HTTP) / ReplayChatCompletionClient (in-process).

AssistantAgent stops after ONE tool iteration by default (max_tool_iterations=1, returning the
tool result as the answer); the task needs 9, so max_tool_iterations=20 (the final text ends it).
The agent keeps the conversation (its model context): sequential CPU runs reuse it with
`on_reset()` between tasks; under concurrency every task gets its own agent.
autogen-core emits OpenTelemetry spans through the OTel API (a no-op without an SDK installed).
"""

import _common as C

SYNC = False

MODEL_INFO = {"vision": False, "function_calling": True, "json_output": True, "family": "unknown",
              "structured_output": True}


def imports():
    global AssistantAgent, OpenAIChatCompletionClient
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import OpenAIChatCompletionClient


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _new_agent(client):
    return AssistantAgent("calculator", model_client=client, tools=[add], system_message=C.SYSTEM,
                          max_tool_iterations=20)


def _answer(result) -> str:
    return str(result.messages[-1].content)


def make_http(base_url: str, turns: int):
    from autogen_core import CancellationToken

    client = OpenAIChatCompletionClient(model=C.MODEL, base_url=base_url, api_key=C.API_KEY, model_info=MODEL_INFO)
    task = C.task_text(turns)
    if turns == C.CPU_TURNS:
        agent = _new_agent(client)

        async def run_one():
            await agent.on_reset(CancellationToken())
            return _answer(await agent.run(task=task))
    else:
        async def run_one():
            return _answer(await _new_agent(client).run(task=task))

    return run_one


def make_inproc(turns: int):
    from autogen_core import CancellationToken, FunctionCall
    from autogen_core.models import CreateResult, RequestUsage
    from autogen_ext.models.replay import ReplayChatCompletionClient

    script = []
    for k in range(turns):
        s = C.script(k, turns)
        if s[0] == "call":
            script.append(CreateResult(finish_reason="function_calls", cached=False,
                                       usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
                                       content=[FunctionCall(id=s[1], name="add",
                                                             arguments='{"a": %d, "b": %d}' % (s[2], s[3]))]))
        else:
            script.append(s[1])
    client = ReplayChatCompletionClient(script, model_info=MODEL_INFO)
    agent = _new_agent(client)
    task = C.task_text(turns)

    async def run_one():
        await agent.on_reset(CancellationToken())
        client.reset()
        client.create_calls.clear()
        result = await agent.run(task=task)
        C.CALLS[0] += client._current_index  # model calls this task made
        return _answer(result)

    return run_one


if __name__ == "__main__":
    C.main(__import__(__name__))
