"""openai-agents runner: Agent + Runner.run with OpenAIChatCompletionsModel (HTTP) / a custom `Model` (in-process).

The SDK's default model speaks the Responses API; the fake server speaks chat completions, so
the HTTP agent uses OpenAIChatCompletionsModel over one shared AsyncOpenAI client.
Tracing is ON by default (spans for every run, model call and tool call, batched by a background
thread); with no OPENAI_API_KEY in the environment its exporter skips the upload, so it does no
network, but its in-process cost is counted, as a user running it by default would pay it.
The Agent is stateless configuration: one shared Agent for all tasks.
"""

import _common as C

SYNC = False


def imports():
    global Agent, Runner, function_tool, OpenAIChatCompletionsModel, AsyncOpenAI
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
    from openai import AsyncOpenAI


def _agent(model):
    @function_tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return Agent(name="calculator", instructions=C.SYSTEM, tools=[add], model=model)


def _runner(agent, turns: int):
    task = C.task_text(turns)

    async def run_one():
        result = await Runner.run(agent, task, max_turns=20)
        return result.final_output

    return run_one


def make_http(base_url: str, turns: int):
    client = AsyncOpenAI(base_url=base_url, api_key=C.API_KEY)
    return _runner(_agent(OpenAIChatCompletionsModel(model=C.MODEL, openai_client=client)), turns)


def make_inproc(turns: int):
    from agents import Model, ModelResponse, Usage
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

    class Scripted(Model):
        async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs,
                               tracing, *, previous_response_id=None, conversation_id=None, prompt=None):
            items = input if isinstance(input, list) else []
            k = sum(1 for it in items if isinstance(it, dict) and it.get("type") == "function_call_output")
            s = C.script(k, turns)
            if s[0] == "call":
                out = ResponseFunctionToolCall(arguments='{"a": %d, "b": %d}' % (s[2], s[3]), call_id=s[1],
                                               name="add", type="function_call", id=f"fc_{k}", status="completed")
            else:
                out = ResponseOutputMessage(id=f"msg_{k}", role="assistant", status="completed", type="message",
                                            content=[ResponseOutputText(text=s[1], type="output_text",
                                                                        annotations=[])])
            return ModelResponse(output=[out], usage=Usage(requests=1), response_id=None)

        def stream_response(self, *args, **kwargs):
            raise NotImplementedError

    return _runner(_agent(Scripted()), turns)


if __name__ == "__main__":
    C.main(__import__(__name__))
