"""Answer contracts: each environment states its answer format, and every agent's final answer, in the
agent's own syntax, is scored on the same terms.

GSM8K: strict (upstream's `#### n` rule on the answer put into the contract), flexible (boxed, then an
answer marker, then the last number) and unparsable, on a fixed table of answers. HumanEval: the
function reaches the scorer whichever way the agent handed it over. Then each agent, driven by a
scripted model that answers in its natural form, and the oracle through the harness for CodeAct's
three action formats and tool-calling's two. The code scorers run in the real sandbox.
"""

from __future__ import annotations

import dataclasses

import pytest

import agentzoo
from agentzoo import CodeActAgent, ScriptedModel, ToolCallingAgent
from agentzoo.agents.handover import definitions, handed_over, named_function
from agentzoo.envs.base import AnswerContract, ScoringContext
from agentzoo.envs.code import MBPP, HumanEval, extract_code
from agentzoo.envs.gsm8k import GSM8K, grade
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.report import load_summary, render_markdown, write_reports
from agentzoo.eval.store import ResultStore
from agentzoo.runtime.spec import AgentSpec

F = "```"
GSM = GSM8K()
HE = HumanEval()
HE0 = HE.tasks()[0]  # has_close_elements
GOLD_FUNCTION = HE0.data["prompt"] + HE0.gold  # the whole function, imports and docstring included
WRONG_FUNCTION = "def has_close_elements(numbers, threshold):\n    return False\n"


# --- GSM8K: strict, flexible, unparsable ----------------------------------------------------------


@pytest.mark.parametrize(("answer", "gold", "strict", "flexible", "unparsable"), [
    ("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72", True, True, False),   # upstream's form
    ("#### 1,234", "1234", True, True, False),                                   # commas removed, as upstream
    ("18", "18", True, True, False),                   # what CodeAct's `Answer: 18` and `final_answer(18)` hand over
    ("18.0", "18", True, True, False),                 # final_answer(36 / 2)
    ("$18.00", "18", True, True, False),               # one number and nothing else, a `$` aside
    ("18.", "18", True, True, False),                  # a final period aside
    ("-5", "-5", True, True, False),
    ("Answer: 18", "18", True, True, False),           # an agent's own syntax left on the answer
    ("Final Answer: 18", "18", True, True, False),
    ("final_answer(18)", "18", True, True, False),
    ("\\boxed{18}", "18", False, True, False),         # a model's habit, not the contract: flexible only
    ("So the total is \\boxed{1,234}.", "1234", False, True, False),
    ("The answer is 18.", "18", False, True, False),   # upstream: no `#### n` is wrong
    ("It costs $18.00 in total.", "18", False, True, False),
    ("The temperature fell to -5 degrees", "-5", False, True, False),
    ("Answer: 18 apples and 3 pears", "18", False, True, False),     # the number after the marker, not the last
    ("3 + 4 = 7, and 7 * 2 = 14", "14", False, True, False),          # the last number
    ("#### 17\nNo, it is \\boxed{18}", "18", False, True, False),     # strict reads the first `####`; boxed first
    ("\\boxed{18}\n#### 17", "17", True, True, False),                # every strict success is a flexible one
    ("The list 1,2,3 sums to 6", "123", False, False, False),         # commas only between groups of three
    ("#### 19", "18", False, False, False),                            # wrong is wrong in every form
    ("19", "18", False, False, False),
    ("\\boxed{19}", "18", False, False, False),
    ("I could not work it out.", "18", False, False, True),
    ("", "18", False, False, True),
])
def test_gsm8k_strict_flexible_and_unparsable(answer, gold, strict, flexible, unparsable):
    details = grade(answer, gold)
    assert (details["strict"], details["flexible"], details["unparsable"]) == (strict, flexible, unparsable)


async def test_gsm8k_success_is_the_strict_score_and_the_details_carry_all_three():
    task = GSM.tasks()[0]
    episode = GSM.episode(task)
    boxed = await GSM.score(episode, f"\\boxed{{{task.gold}}}", ScoringContext())
    assert (boxed.success, boxed.reward) == (False, 0.0)
    assert boxed.details | {"strict": False, "flexible": True, "unparsable": False} == boxed.details
    assert boxed.details["flexible_rule"] == "boxed"
    bare = await GSM.score(episode, task.gold, ScoringContext())
    assert (bare.success, bare.details["got"], bare.details["lone_number"]) == (True, task.gold, True)
    none = await GSM.score(episode, None, ScoringContext())
    assert (none.success, none.details["unparsable"], none.details["answered"]) == (False, False, False)


def test_each_environment_states_its_contract_and_its_prompt_says_it_word_for_word():
    gsm = GSM.answer_contract(GSM.tasks()[0])
    assert isinstance(gsm, AnswerContract) and gsm.kind == GSM.answer_kind == "number"
    assert "`#### <number>`" in gsm.instruction and gsm.accepts
    for task in GSM.tasks()[:3]:
        assert gsm.instruction in task.prompt
    for env in (HE, MBPP()):
        for task in env.tasks()[:3]:
            contract = env.answer_contract(task)
            assert contract.kind == env.answer_kind == "code"
            assert contract.instruction in task.prompt and "```python" in contract.instruction
            assert contract.function and f"`{contract.function}`" in task.prompt
    assert HE.answer_contract(HE0).function == "has_close_elements"


# --- HumanEval: the code, however it was handed over --------------------------------------------


@pytest.mark.parametrize(("answer", "code"), [
    (f"Here it is:\n{F}python\ndef f():\n    return 1\n{F}\nDone.", "def f():\n    return 1\n"),
    ("def f():\n    return 1", "def f():\n    return 1"),                                # bare code
    ("Answer: def f():\n    return 1", "def f():\n    return 1"),                        # a marker left on
    ("Final Answer:\nimport math\ndef f():\n    return math.pi", "import math\ndef f():\n    return math.pi"),
    ("Here is the function:\n\ndef f():\n    return 1\n\nIt returns one.", "def f():\n    return 1\n"),
    ('final_answer("def f():\\n    return 1")', "def f():\n    return 1"),               # the call, written out
    (f'{F}python\nfinal_answer("""{F}python\ndef f():\n    return 1\n{F}""")\n{F}', "def f():\n    return 1\n"),
    ("    return 1", "    return 1"),                                                    # a body completion, kept
    ("    x = 1\ndef g():\n    pass", "    x = 1\ndef g():\n    pass"),                  # ... even with a def after
    ("I cannot write it.", "I cannot write it."),                                          # no code: as written
])
def test_the_code_in_an_answer(answer, code):
    assert extract_code(answer) == code


@pytest.mark.parametrize(("answer", "name"), [
    ("has_close_elements", "has_close_elements"), ("`f`", "f"), ("f()", "f"), ("f.", "f"),
    ("<function f at 0x7f13b231c860>", "f"),   # what final_answer(f) hands over from the sandbox
    ("18", None), ("The function f above", None), ("f(1, 2)", None),
])
def test_a_name_is_a_whole_answer(answer, name):
    assert named_function(answer) == name


def test_definitions_keep_imports_constants_and_the_last_definition_and_leave_test_code_out():
    sources = ["import math\nLIMIT = 10\ndef f(x):\n    return 0\nprint(f(1))",
               "def helper():\n    return 2\n\n@staticmethod\ndef f(x):\n    return math.sqrt(x) + helper()\nassert f(4) == 4",
               "does not parse ("]
    assert definitions(sources, "f") == ("import math\n\nLIMIT = 10\n\ndef helper():\n    return 2\n\n"
                                         "@staticmethod\ndef f(x):\n    return math.sqrt(x) + helper()")
    assert definitions(sources, "g") is None
    assert handed_over("g", sources) == "g" and handed_over("18", sources) == "18"
    assert handed_over("f", sources).startswith(f"{F}python\nimport math")


async def score_code(answer, env=HE, task=HE0):
    return await env.score(env.episode(task), answer, ScoringContext())


# --- each agent, answering in its own syntax -------------------------------------------------------


async def answer_of(agent):
    result = await agentzoo.run(agent, "the task")
    assert result.ok, result.error
    return result.answer


def codeact(script, mode="code"):
    return CodeActAgent(ScriptedModel(script), action_mode=mode, tier="auto", allow_unsafe=False)


def tool_calling(script, action_format="tool_calls"):
    return ToolCallingAgent(ScriptedModel(script), action_format=action_format)


GSM_FORMS = [  # (agent, the model's replies, strict, flexible)
    ("codeact code: Answer: 18", lambda: codeact(["Answer: 18"]), True, True),
    ("codeact code: final_answer(18) as an action", lambda: codeact(["Action:\nfinal_answer(6 * 3)\nEnd Action"]),
     True, True),
    ("codeact code: a lone block computing a float", lambda: codeact([f"{F}python\ntotal = 36 / 2\nfinal_answer(total)\n{F}"]),
     True, True),
    ("codeact code: Answer: \\boxed{18}", lambda: codeact(["Answer: \\boxed{18}"]), False, True),
    ("codeact code: an action, then the answer", lambda: codeact([f"Action:\n{F}python\nprint(6 * 3)\n{F}\nEnd Action",
                                                                   "Answer: 18"]), True, True),
    ("codeact json: Answer: 18", lambda: codeact(["Answer: 18"], "json"), True, True),
    ("codeact text: Answer: 18", lambda: codeact(["Answer: 18"], "text"), True, True),
    ("tool-calling native: #### 18", lambda: tool_calling(["6 * 3 = 18\n#### 18"]), True, True),
    ("tool-calling native: a bare 18", lambda: tool_calling(["18"]), True, True),
    ("tool-calling native: \\boxed{18}", lambda: tool_calling(["6 * 3 = \\boxed{18}"]), False, True),
    ("react: Final Answer: 18", lambda: tool_calling(["Thought: 6 * 3 = 18\nFinal Answer: 18"], "react"), True, True),
    ("react: Final Answer: 19", lambda: tool_calling(["Thought: I add one.\nFinal Answer: 19"], "react"), False, False),
]


@pytest.mark.parametrize(("label", "make", "strict", "flexible"), GSM_FORMS, ids=[f[0] for f in GSM_FORMS])
async def test_gsm8k_scores_each_agents_natural_answer(label, make, strict, flexible):
    task = dataclasses.replace(GSM.tasks()[0], gold="18")
    score = await GSM.score(GSM.episode(task), await answer_of(make()), ScoringContext())
    assert (score.success, score.details["strict"], score.details["flexible"]) == (strict, strict, flexible)


def _block(code):
    return f"{F}python\n{code.rstrip()}\n{F}"


HE_FORMS = [  # (agent, the model's replies, passes)
    ("codeact code: Answer: and the block", lambda: codeact([f"Answer:\n{_block(GOLD_FUNCTION)}"]), True),
    ("codeact code: the block run as an action, then Answer: naming it",
     lambda: codeact([_block(GOLD_FUNCTION), "Answer: has_close_elements"]), True),
    ("codeact code: final_answer(the function object)",
     lambda: codeact([f"Action:\n{GOLD_FUNCTION}\nfinal_answer(has_close_elements)\nEnd Action"]), True),
    ("codeact code: final_answer(the source text)",
     lambda: codeact([f"Action:\nfinal_answer({GOLD_FUNCTION!r})\nEnd Action"]), True),
    ("codeact code: the block shown beside Answer: naming it",
     lambda: codeact([f"{_block(GOLD_FUNCTION)}\nAnswer: `has_close_elements`"]), True),
    ("codeact code: a wrong function run, then named", lambda: codeact([_block(WRONG_FUNCTION), "Answer: has_close_elements"]),
     False),
    ("codeact code: a name the code never defined", lambda: codeact(["Answer: has_close_elements"]), False),
    ("codeact json: Answer: and the block", lambda: codeact([f"Answer:\n{_block(GOLD_FUNCTION)}"], "json"), True),
    ("codeact text: Answer: and bare code", lambda: codeact([f"Answer: {GOLD_FUNCTION}"], "text"), True),
    ("tool-calling native: the block in prose", lambda: tool_calling([f"Here it is.\n\n{_block(GOLD_FUNCTION)}\nDone."]),
     True),
    ("tool-calling native: bare code after prose", lambda: tool_calling([f"Here is the function:\n\n{GOLD_FUNCTION}"]),
     True),
    ("react: Final Answer: and the block",
     lambda: tool_calling([f"Thought: done.\nFinal Answer:\n{_block(GOLD_FUNCTION)}"], "react"), True),
]


@pytest.mark.parametrize(("label", "make", "passes"), HE_FORMS, ids=[f[0] for f in HE_FORMS])
async def test_humaneval_gets_the_function_each_agent_wrote(label, make, passes):
    score = await score_code(await answer_of(make()))
    assert score.success is passes, score.details


# --- the oracle, through the harness, for every action format --------------------------------------


FORMATS = {"codeact-code": AgentSpec(agent="codeact", action_format="code", model="-"),
           "codeact-json": AgentSpec(agent="codeact", action_format="json", model="-"),
           "codeact-text": AgentSpec(agent="codeact", action_format="text", model="-"),
           "tool-calling": AgentSpec(agent="tool-calling", model="-")}


async def test_the_oracle_scores_100_percent_with_every_action_format_and_the_report_shows_flexible(tmp_path):
    envs = {"gsm8k": GSM, "humaneval": HE}
    samples = [Sample(name, task, label, "oracle", 0) for name, env in envs.items() for task in env.tasks()[:3]
               for label in FORMATS]
    await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=4, agents=FORMATS))
    store = ResultStore(tmp_path / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert len(rows) == len(samples)
    assert [(r["agent"], r["task"], r["status"], r["score"]) for r in rows if not r["success"]] == []
    assert all(r["score"]["flexible"] and not r["score"]["unparsable"] for r in rows if r["env"] == "gsm8k")
    write_reports(tmp_path)
    summary = load_summary(tmp_path)
    for group in summary["groups"]:
        if group["env"] == "gsm8k":
            assert group["flexible"]["success"]["rate"] == 1.0 and group["flexible"]["unparsable"] == 0
        else:
            assert group["flexible"] is None
    text = (tmp_path / "summary.md").read_text()
    assert "Flexible extract" in text and "unparsable 0 of 3" in text


@pytest.mark.parametrize("env", [GSM, HE], ids=["gsm8k", "humaneval"])
async def test_the_oracle_in_react_syntax_scores_100_percent(env):
    for task in env.tasks()[:3]:
        agent = tool_calling(env.oracle(task, "react"), "react")
        score = await env.score(env.episode(task), await answer_of(agent), ScoringContext())
        assert score.success, (task.id, score.details)


def test_the_report_counts_flexible_and_unparsable_answers():
    def row(task, strict, flexible, unparsable):
        return {"agent": "a", "env": "gsm8k", "model": "m", "task": task, "status": "finished", "success": strict,
                "reward": float(strict), "score": {"strict": strict, "flexible": flexible, "unparsable": unparsable}}

    from agentzoo.eval.report import summarize
    rows = [row("t1", True, True, False), row("t2", False, True, False), row("t3", False, False, True),
            row("t4", False, False, False)]
    group = summarize(rows)["groups"][0]
    assert group["success"]["rate"] == 0.25
    assert group["flexible"]["success"]["rate"] == 0.5
    assert (group["flexible"]["unparsable"], group["flexible"]["samples"]) == (1, 4)
    assert "- a × m: strict 25.0% [" in render_markdown(summarize(rows))
    assert "flexible 50.0% [" in render_markdown(summarize(rows))
    assert "unparsable 1 of 4" in render_markdown(summarize(rows))


# --- the number readers (agentzoo.replies) ---------------------------------------------------------


@pytest.mark.parametrize(("text", "numbers", "lone", "final"), [
    ("18", ["18"], "18", ("18", "last")),
    ("$1,234.50.", ["1234.5"], "1234.5", ("1234.5", "last")),
    ("-0.0", ["0"], "0", ("0", "last")),
    ("10-4=6", ["10", "4", "6"], None, ("6", "last")),             # a minus between terms is no sign
    ("(3)-2", ["3", "2"], None, ("2", "last")),
    ("x = -2", ["-2"], None, ("-2", "last")),
    ("1,2345 and 12,34", ["1", "2345", "12", "34"], None, ("34", "last")),
    ("\\boxed{x = 3, y = 4} then 9", ["3", "4", "9"], None, ("4", "boxed")),   # the box's last number
    ("\\boxed{none} \\boxed{7} \\boxed{}", ["7"], None, ("7", "boxed")),        # the last box that holds one
    ("#### 5\nAnswer: 6 of 7\n8", ["5", "6", "7", "8"], None, ("6", "marker")),   # after the last marker
    ("the answer is: see above, 9", ["9"], None, ("9", "marker")),
    ("Answer: none\n12", ["12"], None, ("12", "last")),              # a marker line without a number
    ("no numbers here", [], None, (None, None)),
    (None, [], None, (None, None)),
])
def test_number_readers(text, numbers, lone, final):
    from agentzoo import replies

    assert (replies.numbers(text), replies.lone_number(text), replies.final_number(text)) == (numbers, lone, final)
