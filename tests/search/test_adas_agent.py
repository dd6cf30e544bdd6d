"""ADAS agents: the API in the sandbox, the seven seed agents' algorithms, the archive and `adas:` agent kinds.

Every agent here runs for real in the sandbox (its LLM calls come back to the host as journaled model
calls), with a scripted model.
"""

from __future__ import annotations

import json

import pytest

from agentzoo import Journal, ScriptedModel
from agentzoo.builder import build
from agentzoo.catalog import get_kind
from agentzoo.errors import ConfigError
from agentzoo.models.registry import RecordedOnlyModel
from agentzoo.runtime import runner
from agentzoo.runtime.spec import AgentSpec
from agentzoo.search.adas import AdasAgent, Archive, ArchiveError, Entry, Fitness, seed_entries, write
from agentzoo.search.adas.calls import reply_fields

TASK = "Solve this grade-school math problem.\n\nJanet has 3 apples and buys 4 more. How many does she have?"
SEEDS = {e.name: e for e in seed_entries()}


def fields_of(request):
    return [line.split('"')[1] for line in request.messages[0]["content"].splitlines() if line.startswith('- "')]


def answering(answers=("7",), correct="True", choice="Grade School Teacher"):
    """A script: answer fields take `answers` in turn (the last repeats); critics say `correct`."""
    given = []

    def play(request):
        values = {}
        for field in fields_of(request):
            if field == "answer":
                values[field] = answers[min(len(given), len(answers) - 1)]
                given.append(values[field])
            else:
                values[field] = {"correct": correct, "choice": choice}.get(field, f"{field} text")
        return json.dumps(values)
    return play


async def run_seed(name, play, journal=None, **options):
    model = ScriptedModel(play)
    agent = AdasAgent(model, SEEDS[name].code, name=name, task_kind="number", sampling={"seed": 100}, **options)
    result = await runner.run(agent, TASK, journal=journal)
    return result, model.requests


def systems(requests):
    return [r.messages[0]["content"].splitlines()[0] for r in requests]


async def test_the_seed_archive_is_adas_seven_agents_in_its_order():
    assert list(SEEDS) == ["Chain-of-Thought", "Self-Consistency with Chain-of-Thought", "Self-Refine (Reflexion)",
                           "LLM Debate", "Step-back Abstraction", "Quality-Diversity", "Dynamic Assignment of Roles"]
    assert all(e.code.startswith("def forward(self, task):") and e.thought and e.generation is None
               for e in SEEDS.values())


async def test_chain_of_thought_is_one_call_for_thinking_then_answer():
    result, requests = await run_seed("Chain-of-Thought", answering())
    assert result.ok and result.answer == "7" and len(requests) == 1
    [request] = requests
    assert fields_of(request) == ["thinking", "answer"] and request.temperature == 0.5
    assert request.response_format == {"type": "json_object"}
    assert request.messages[1]["content"].startswith(f"# Task\n{TASK}\n\n# Instruction\n")
    assert "Only the final number" in request.messages[0]["content"]  # the environment's answers are numbers


async def test_self_consistency_samples_five_paths_at_0_8_and_takes_the_majority():
    result, requests = await run_seed("Self-Consistency with Chain-of-Thought", answering(["7", "8", "7", "8", "8"]))
    assert result.answer == "8" and len(requests) == 5
    assert {r.temperature for r in requests} == {0.8}
    assert [r.seed for r in requests] == [100, 101, 102, 103, 104]  # the same prompt, different samples


async def test_reflexion_stops_when_the_critic_is_sure():
    result, requests = await run_seed("Self-Refine (Reflexion)", answering(["7"], correct="True"))
    assert len(requests) == 2 and result.answer == "7"
    assert [fields_of(r) for r in requests] == [["thinking", "answer"], ["feedback", "correct"]]


async def test_reflexion_revises_with_the_feedback_for_at_most_five_rounds():
    result, requests = await run_seed("Self-Refine (Reflexion)", answering(["1", "2", "3", "4", "5", "6"],
                                                                           correct="False"))
    # First attempt, then five rounds of critic + revision.
    assert len(requests) == 11 and result.answer == "6"
    last = requests[-1].messages[1]["content"]
    assert last.count("### feedback") == 5 and "### answer (round 6)" not in last and "### answer (round 5)" in last
    assert "(that is you)" in last  # its own earlier attempts are marked as its own


async def test_debate_is_three_roles_for_two_rounds_then_a_final_decision_at_0_1():
    result, requests = await run_seed("LLM Debate", answering(["7"]))
    assert len(requests) == 7 and result.answer == "7"
    roles = [r.messages[0]["content"].splitlines()[0] for r in requests[:6]]
    assert roles == ["You are a Math Professor.", "You are a Grade School Teacher.", "You are a Math Enthusiast."] * 2
    assert [r.temperature for r in requests] == [0.8] * 6 + [0.1]
    second_round = requests[4].messages[1]["content"]  # the teacher, round 2: its own thinking first, then the others'
    assert second_round.index("Debate Agent #2 (that is you)") < second_round.index("Debate Agent #1")
    final = requests[6].messages[1]["content"]
    assert final.count("### thinking") == 3 and final.count("### answer") == 3


async def test_step_back_asks_for_principles_first():
    result, requests = await run_seed("Step-back Abstraction", answering())
    assert [fields_of(r) for r in requests] == [["thinking", "principle"], ["thinking", "answer"]]
    assert "### principle, from Principle Agent" in requests[1].messages[1]["content"]


async def test_quality_diversity_makes_four_attempts_then_picks():
    result, requests = await run_seed("Quality-Diversity", answering(["1", "2", "3", "4", "5"]))
    assert len(requests) == 5 and result.answer == "5"
    assert [r.temperature for r in requests] == [0.5] * 4 + [0.1]
    assert requests[-1].messages[1]["content"].count("### answer") == 4


@pytest.mark.parametrize(("choice", "role"), [("Grade School Teacher", "Grade School Teacher"),
                                              ("the professor, clearly", "Math Professor"),
                                              ("nobody", "Helpful Assistant")])
async def test_role_assignment_routes_to_the_chosen_expert(choice, role):
    result, requests = await run_seed("Dynamic Assignment of Roles", answering(choice=choice))
    assert fields_of(requests[0]) == ["choice"] and len(requests) == 2
    assert requests[1].messages[0]["content"].startswith(f"You are a {role}.")


async def test_schema_replies_ask_for_exactly_the_fields_with_a_json_schema():
    result, requests = await run_seed("Step-back Abstraction", answering(), schema_replies=True)
    assert result.ok and [r.response_format for r in requests] == [
        {"type": "json_schema", "json_schema": {"name": "reply", "strict": True, "schema": {
            "type": "object", "properties": {"thinking": {"type": "string"}, field: {"type": "string"}},
            "required": ["thinking", field], "additionalProperties": False}}} for field in ("principle", "answer")]


async def test_a_reply_that_is_not_json_gives_empty_fields_and_other_values_become_text():
    assert reply_fields("no JSON here", ["thinking", "answer"]) == {"thinking": "", "answer": ""}
    assert reply_fields('```json\n{"answer": 7, "extra": 1}\n```', ["thinking", "answer"]) == {"thinking": "", "answer": "7"}
    result, _ = await run_seed("Chain-of-Thought", lambda request: "Sorry, I cannot.")
    assert result.ok and result.answer == ""


async def test_the_codes_exception_fails_the_run_with_its_line_in_the_agents_code():
    code = "def forward(self, task):\n    agent = LLMAgent(['answer'], 'A')\n    reply = agent([task], 'Go.')\n" \
           "    return reply['nonexistent']\n"
    result = await runner.run(AdasAgent(ScriptedModel(answering()), code, name="Broken"), TASK)
    assert result.status == "failed" and result.error["type"] == "GeneratedCodeError"
    message = result.error["message"]
    assert message.startswith("Broken: KeyError: \"this reply has no field 'nonexistent'; its fields: ['answer']\"")
    assert 'File "<agent>", line 4, in forward' in message and "return reply['nonexistent']" in message


@pytest.mark.parametrize(("code", "expected"), [
    ("x = 1\n", "NameError: the code defines no function forward(self, task)"),
    ("def forward(self, task):\n    return LLMAgent(['a'], 'A')(['text'], 'Go.')\n", "inputs must all be Info values"),
    ("def forward(self, task):\n    return LLMAgent(['a'], 'A', temperature=5)\n", "temperature must be a number"),
    ("def forward(self, task):\n    return llm_call(agent='a', role='r', fields=[], temperature=0.5, inputs=[], "
     "instruction='')\n", "NameError"),
    ("def forward(self, task):\n    while True:\n        LLMAgent(['a'], 'A')([task], 'again')\n",
     "made 3 LLM calls on one task, the most allowed"),
    ("def forward(self, task)\n    return 1\n", "SyntaxError"),
])
async def test_mistakes_in_generated_code_are_errors_that_say_what_to_fix(code, expected):
    result = await runner.run(AdasAgent(ScriptedModel(answering()), code, max_model_calls=3), TASK)
    assert result.error["type"] == "GeneratedCodeError" and expected in result.error["message"]


async def test_a_forward_that_runs_past_task_seconds_is_stopped_and_reported():
    code = "def forward(self, task):\n    import time\n    time.sleep(30)\n    return '1'\n"
    result = await runner.run(AdasAgent(ScriptedModel([]), code, name="Slow", task_seconds=1), TASK)
    assert result.error["type"] == "GeneratedCodeError"
    assert result.error["message"].startswith("Slow: TimeoutError: the action ran longer than 1")


async def test_the_host_refuses_malformed_calls_the_code_makes_itself():
    # The code can reach the host tool directly: whatever it sends is checked before any model call.
    code = ("def forward(self, task):\n    call = LLMAgent.__call__.__globals__['llm_call']\n"
            "    return call(agent='a', role='r', fields=['x'] * 40, temperature=0.5, inputs=[], instruction='i')\n")
    model = ScriptedModel(answering())
    result = await runner.run(AdasAgent(model, code), TASK)
    assert "fields must be 1 to 16 field names" in result.error["message"] and model.calls == 0


async def test_a_replay_serves_the_sandbox_action_and_its_model_calls(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        live, _ = await run_seed("LLM Debate", answering(), journal=journal)
        agent = AdasAgent(RecordedOnlyModel("scripted"), SEEDS["LLM Debate"].code, name="LLM Debate",
                          task_kind="number", sampling={"seed": 100}, tier="no-such-tier")  # a sandbox would fail
        again = await runner.replay(agent, live.run_id, journal=journal)
        scopes = {e.scope for e in journal.entries(live.run_id)}
    assert again.ok and again.answer == live.answer == "7"
    assert (again.model_calls, again.live_effects) == (7, 0)
    assert scopes == {"", "forward"}


# --- the archive and `adas:` agents ----------------------------------------------------------------------


def archive_file(tmp_path, entries=None):
    path = tmp_path / "archive.json"
    entries = entries or [*seed_entries(), Entry("Found", SEEDS["Chain-of-Thought"].code, "an idea", 1,
                                                 Fitness(0.5, 0.25, 0.75, 2, 4))]
    write(path, Archive(entries, generations_done=1))
    return path


def test_an_archive_entry_is_an_agent_kind_by_index_or_name(tmp_path):
    path = archive_file(tmp_path)
    by_index = build(AgentSpec(agent=f"adas:{path}#7", model="scripted:x"), model=ScriptedModel([]))
    by_name = build(AgentSpec(agent=f"adas:{path}#Found", model="scripted:x"), model=ScriptedModel([]))
    assert isinstance(by_index.agent, AdasAgent) and by_index.agent.name == by_name.agent.name == "Found"
    assert by_index.agent.code == SEEDS["Chain-of-Thought"].code
    kind = get_kind(f"adas:{path}#0")
    assert kind.runs_code and set(kind.options) == {"max_model_calls", "task_seconds", "schema_replies"}


@pytest.mark.parametrize(("ref", "content", "message"), [
    ("adas:{path}#9", None, "has 8 entries (#0 to #7); there is no entry #9"),
    ("adas:{path}#Nobody", None, "has no entry named 'Nobody'; its entries: #0 'Chain-of-Thought'"),
    ("adas:{path}", None, "name an archive entry as adas:ARCHIVE.json#N"),
    ("adas:{path}x#1", None, "x: no such file"),
    ("adas:{path}#1", b"{not json", "is not valid JSON"),
    ("adas:{path}#1", b"[1, 2]", "is not an ADAS archive"),
    ("adas:{path}#1", b'{"format": "agentzoo.adas.archive", "version": 1, "entries": [{"name": "A"}]}',
     "entry #0 has no 'code' text"),
])
def test_a_bad_archive_reference_is_a_typed_error_naming_the_file(tmp_path, ref, content, message):
    path = archive_file(tmp_path)
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ArchiveError, match=None) as caught:
        get_kind(ref.format(path=path))
    assert message in str(caught.value) and isinstance(caught.value, ConfigError)


def test_two_entries_with_one_name_must_be_named_by_index(tmp_path):
    code = SEEDS["Chain-of-Thought"].code
    path = archive_file(tmp_path, [Entry("Twin", code), Entry("Twin", code)])
    with pytest.raises(ArchiveError, match=r"has 2 entries named 'Twin' \(#0, #1\): name one by its index"):
        get_kind(f"adas:{path}#Twin")


@pytest.mark.parametrize(("change", "message"), [
    ({"system": "Be brief."}, "takes no system prompt"),
    ({"sampling": {"temperature": 0.3}}, "temperature cannot be set"),
])
def test_settings_an_adas_agent_would_ignore_are_refused(tmp_path, change, message):
    spec = AgentSpec(agent=f"adas:{archive_file(tmp_path)}#0", model="scripted:x", **change)
    with pytest.raises(ConfigError, match=message):
        build(spec, model=ScriptedModel([]))
