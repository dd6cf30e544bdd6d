"""crewai runner: one Agent, one Task, one Crew, `akickoff()` (native async) with crewai's LLM (HTTP) / a custom BaseLLM (in-process).

crewai's own OpenAI provider (LLM("openai/<model>", base_url=...)) speaks chat completions with
native tool calls. `Crew.kickoff_async` is a thread wrapper around the sync kickoff; `akickoff`
is the native async path, used here. verbose=False (the default).
Telemetry: crewai sends anonymous OpenTelemetry usage data to telemetry.crewai.com by default
and has an opt-in trace upload; the bench disables both (CREWAI_DISABLE_TELEMETRY,
CREWAI_TRACING_ENABLED=false, OTEL_SDK_DISABLED) since the network is closed.
Sequential CPU runs reuse the crew; under concurrency every task gets its own Agent/Task/Crew.
"""

import _common as C

SYNC = False


def imports():
    global Agent, Task, Crew, LLM, tool
    from crewai import LLM, Agent, Crew, Task
    from crewai.tools import tool


def _crew_factory(llm, turns: int):
    @tool("add")
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def new():
        agent = Agent(role="Calculator", goal=C.SYSTEM, backstory="You add numbers.", tools=[add], llm=llm,
                      max_iter=20, verbose=False)
        task = Task(description=C.task_text(turns), expected_output="The sum.", agent=agent)
        return Crew(agents=[agent], tasks=[task], verbose=False)

    return new


def _runner(llm, turns: int, reuse: bool):
    new = _crew_factory(llm, turns)
    shared = new() if reuse else None

    async def run_one():
        out = await (shared or new()).akickoff()
        return out.raw

    return run_one


def make_http(base_url: str, turns: int):
    llm = LLM(model=f"openai/{C.MODEL}", base_url=base_url, api_key=C.API_KEY)
    return _runner(llm, turns, reuse=turns == C.CPU_TURNS)


def make_inproc(turns: int):
    from crewai.llms.base_llm import BaseLLM

    class Scripted(BaseLLM):
        def supports_function_calling(self) -> bool:
            return True

        def call(self, messages, tools=None, callbacks=None, available_functions=None, from_task=None,
                 from_agent=None, response_model=None, **kwargs):
            msgs = messages if isinstance(messages, list) else []
            k = sum(1 for m in msgs if isinstance(m, dict) and m.get("role") == "tool")
            s = C.script(k, turns)
            if s[0] == "call":
                return [{"id": s[1], "type": "function",
                         "function": {"name": "add", "arguments": '{"a": %d, "b": %d}' % (s[2], s[3])}}]
            return s[1]

        async def acall(self, messages, tools=None, callbacks=None, available_functions=None, from_task=None,
                        from_agent=None, response_model=None, **kwargs):
            return self.call(messages, tools, callbacks, available_functions, from_task, from_agent,
                             response_model)

    return _runner(Scripted(model=C.MODEL), turns, reuse=True)


if __name__ == "__main__":
    C.main(__import__(__name__))
