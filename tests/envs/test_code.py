"""HumanEval and MBPP: the gold solutions pass through the whole harness, broken ones score 0, in the sandbox."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from agentzoo.envs.base import ScoringContext
from agentzoo.envs.code import HUMANEVAL_DATA, MBPP_DATA, HumanEval, MBPP, defines, extract_code, function_name
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError, SandboxUnavailable
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.sandbox.host import GRACE_SECONDS


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return {r["key"]: r for r in store.rows()}
    finally:
        store.close()


async def run_oracle(env, agents, out, limit=None, concurrency=4):
    samples = expand({env.name: env}, agents, ["oracle"], 1, limit)
    started = time.monotonic()
    progress = await run_eval(samples, {env.name: env}, EvalConfig(out=out, concurrency=concurrency))
    print(f"{env.name} {','.join(agents)}: {len(samples)} samples in {time.monotonic() - started:.1f} s")
    return samples, progress, rows(out)


def assert_all_passed(samples, progress, got):
    failed = {k: (r["status"], r["error"], r["score"]) for k, r in got.items() if not r["success"]}
    assert not failed, f"{len(failed)} failed, e.g. {next(iter(failed.items()))}"
    assert progress.done == len(got) == len(samples) and progress.infra_errors == 0
    assert all(r["reward"] == 1.0 and r["score"]["tier"] != "unsafe" for r in got.values())


# --- the gold solutions, through the whole harness ----------------------------------------------


async def test_the_oracle_solves_every_humaneval_task(tmp_path):
    env = HumanEval()
    assert len(env.tasks()) == 164 and env.tasks()[0].id == "HumanEval/0" and env.tasks()[-1].id == "HumanEval/163"
    samples, progress, got = await run_oracle(env, ["tool-calling"], tmp_path)
    assert_all_passed(samples, progress, got)
    assert {r["score"]["form"] for r in got.values()} == {"function"}  # the oracle writes full functions


async def test_the_oracle_solves_humaneval_through_codeact(tmp_path):
    env = HumanEval()
    samples, progress, got = await run_oracle(env, ["codeact"], tmp_path, limit=25)
    assert_all_passed(samples, progress, got)
    assert len(got) == 25 and all(r["model_calls"] == 1 for r in got.values())  # `Answer:` on the first turn


async def test_the_oracle_solves_every_mbpp_task(tmp_path):
    env = MBPP()
    tasks = env.tasks()
    assert len(tasks) == 974 and tasks[0].id == "mbpp/1" and tasks[-1].id == "mbpp/974"
    samples, progress, got = await run_oracle(env, ["tool-calling"], tmp_path)
    assert_all_passed(samples, progress, got)


async def test_the_oracle_solves_mbpp_through_codeact(tmp_path):
    env = MBPP()
    samples, progress, got = await run_oracle(env, ["codeact"], tmp_path, limit=10)
    assert_all_passed(samples, progress, got)


# --- what the agent sees and what counts as its code ---------------------------------------------


def test_prompts_name_the_function_and_ask_for_one_python_block():
    he = HumanEval().tasks()[0]
    assert "`has_close_elements`" in he.prompt and "```python\nfrom typing import List" in he.prompt
    assert he.data["prompt"] in he.prompt.replace("```", "")
    mbpp = {t.id: t for t in MBPP().tasks()}
    first = mbpp["mbpp/2"]
    assert first.prompt.startswith("You are an expert Python programmer, and here is your task: Write a function to "
                                   "find the similar elements from the given two tuple lists. Your code should pass "
                                   "these tests:")
    assert all(test in first.prompt for test in first.data["tests"])  # the paper shows all three asserts
    assert "Write the function `similar_elements`." in first.prompt and "```python" in first.prompt
    assert "root = Node(1)" in mbpp["mbpp/367"].prompt  # its asserts use objects the setup code builds
    assert mbpp["mbpp/601"].data["function"] == "max_chain_length"  # not Pair, which the tests also call
    assert len(mbpp["mbpp/11"].data["challenge_tests"]) == 2  # kept, not scored


def test_the_code_is_the_last_python_block_else_the_whole_text():
    assert extract_code("Sure:\n```python\nx = 1\n```\nor better:\n```python\nx = 2\n```\nDone.") == "x = 2\n"
    assert extract_code("```text\nnot code\n```\n```\ny = 3\n```") == "y = 3\n"
    assert extract_code("```py\n    return 1\n```") == "    return 1\n"  # indentation kept: a body
    assert extract_code("```python\r\nz = 4\r\n```") == "z = 4\n"
    assert extract_code("cut off:\n```python\ndef f():\n    return 5\n") == "def f():\n    return 5\n"
    assert extract_code("def f(): return 6") == "def f(): return 6"
    assert extract_code(None) == ""
    assert defines("import math\ndef f(x):\n    return x", "f") and not defines("    return x", "f")
    assert function_name("def g(): pass", ["assert len(g()) == 1"]) == "g"


async def test_humaneval_takes_a_full_function_or_a_body():
    env = HumanEval()
    task = env.tasks()[13]  # greatest_common_divisor
    episode = env.episode(task)
    body = task.gold
    function = task.data["prompt"] + task.gold
    for answer, form in ((f"```python\n{body}```", "body"), (f"```python\n{function}```", "function"),
                         (body, "body"), (f"```\n{function}\n```", "function")):
        score = await env.score(episode, answer, ScoringContext())
        assert (score.reward, score.details["form"]) == (1.0, form), (answer, score)
    # A full function without the prompt's imports still works: the prompt comes first.
    t0 = env.tasks()[0]
    own = "def has_close_elements(numbers, threshold):\n    return any(abs(a - b) < threshold for i, a in " \
          "enumerate(numbers) for b in numbers[i + 1:])\n"
    assert (await env.score(env.episode(t0), f"```python\n{own}```", ScoringContext())).success


# --- broken gold scores 0, with the reason -----------------------------------------------------


async def score(env, task_id, answer):
    task = next(t for t in env.tasks() if t.id == task_id)
    return await env.score(env.episode(task), answer, ScoringContext())


async def test_off_by_one_wrong_name_and_raising_code_score_zero():
    he, mbpp = HumanEval(), MBPP()
    gcd = he.tasks()[13]
    full = gcd.data["prompt"] + gcd.gold
    assert "    return a\n" in full

    off = await score(he, "HumanEval/13", f"```python\n{full.replace('    return a', '    return a + 1')}```")
    assert (off.reward, off.success, off.details["error"]["type"]) == (0.0, False, "AssertionError")
    assert off.details["line"].startswith("assert candidate(")  # the failing assert of the benchmark's test

    renamed = await score(he, "HumanEval/13", f"```python\n{full.replace('def greatest_common_divisor', 'def gcd')}```")
    assert renamed.reward == 0.0 and renamed.details["form"] == "body"  # the prompt's empty stub is what runs

    raises = await score(he, "HumanEval/13", "```python\n    raise ValueError('no gcd today')\n```")
    assert raises.reward == 0.0 and raises.details["error"] == {"type": "ValueError", "message": "no gcd today"}
    assert raises.details["line"] == "raise ValueError('no gcd today')"

    syntax = await score(he, "HumanEval/13", "```python\ndef greatest_common_divisor(a, b)\n    return a\n```")
    assert syntax.reward == 0.0 and syntax.details["error"]["type"] == "SyntaxError"

    gold = next(t for t in mbpp.tasks() if t.id == "mbpp/1").gold.replace("\r\n", "\n")
    assert (await score(mbpp, "mbpp/1", f"```python\n{gold}\n```")).success
    off = await score(mbpp, "mbpp/1", f"```python\n{gold.replace('return tc[m][n]', 'return tc[m][n] + 1')}\n```")
    assert off.reward == 0.0 and off.details["line"] == "assert min_cost([[1, 2, 3], [4, 8, 2], [1, 5, 3]], 2, 2) == 8"
    renamed = await score(mbpp, "mbpp/1", f"```python\n{gold.replace('def min_cost', 'def minimum_cost')}\n```")
    assert renamed.reward == 0.0 and renamed.details["error"] == {"type": "NameError",
                                                                  "message": "name 'min_cost' is not defined"}


async def test_exits_and_final_answer_are_not_passes():
    """Upstream counts any BaseException as a failure: an early `sys.exit(0)` does not pass."""
    for code in ("import sys\nsys.exit(0)", "raise SystemExit", "import os\nos._exit(0)", "raise KeyboardInterrupt",
                 "import __main__\n__main__._final_answer('passed')"):
        result = await score(HumanEval(), "HumanEval/13", f"```python\n{code}\n```")
        assert result.reward == 0.0, (code, result)
    no_answer = await score(HumanEval(), "HumanEval/13", None)
    assert no_answer.details["error"]["type"] == "NoAnswer"
    assert (await score(MBPP(), "mbpp/1", "```python\n\n```")).details["error"]["type"] == "NoCode"


async def test_an_infinite_loop_scores_zero_within_the_time_limit():
    he = HumanEval()
    started = time.monotonic()
    loop = await score(he, "HumanEval/13", "```python\n    while True:\n        pass\n```")
    took = time.monotonic() - started
    assert loop.reward == 0.0 and loop.details["error"]["type"] == "TimeoutError", loop
    assert "longer than 3 s" in loop.details["error"]["message"] and 3.0 <= took < 3.0 + 2.0, took
    # Code that swallows the interrupt is killed by the host after the grace period.
    started = time.monotonic()
    stubborn = await score(he, "HumanEval/13", "```python\n    while True:\n        try:\n            while True:\n"
                                               "                pass\n        except BaseException:\n"
                                               "            pass\n```")
    took = time.monotonic() - started
    assert stubborn.reward == 0.0 and stubborn.details["error"]["type"] == "TimeoutError", stubborn
    assert "was killed" in stubborn.details["error"]["message"] and took < 3.0 + GRACE_SECONDS + 2.0, took


async def test_code_that_reaches_for_the_host_scores_zero_and_does_no_harm(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    # A task whose reference solution reads a host file: it passes on the host, never in the sandbox.
    tasks = tmp_path / "host.jsonl"
    tasks.write_text(json.dumps({
        "task_id": 1, "text": "Read the secret.",
        "code": f"def read_secret():\n    return open({str(secret)!r}).read()",
        "test_list": ["assert read_secret() == 's3cret'"], "test_setup_code": "", "challenge_test_list": []}) + "\n")
    env = get_env("mbpp", tasks)
    (task,) = env.tasks()
    program, _ = env.program(task, task.gold)
    exec(compile(program, "<host>", "exec"), {})  # on the host, unisolated, the "gold" passes
    result = await env.score(env.episode(task), env.oracle(task, "tool-calling")[0], ScoringContext())
    assert result.reward == 0.0 and result.details["error"]["type"] in ("FileNotFoundError", "PermissionError")

    attack = ("import os, pathlib, shutil\n"
              "def greatest_common_divisor(a, b):\n"
              "    return 1\n"
              f"for path in ({str(secret)!r}, '/etc/shadow', '/etc/passwd'):\n"
              "    try:\n"
              "        print(open(path).read())\n"
              "    except OSError:\n"
              "        pass\n"
              f"for act in (lambda: os.remove({str(secret)!r}), lambda: shutil.rmtree({str(tmp_path)!r}),\n"
              f"            lambda: pathlib.Path({str(tmp_path / 'planted')!r}).write_text('x')):\n"
              "    try:\n"
              "        act()\n"
              "    except OSError:\n"
              "        pass\n"
              "open('/etc/shadow').read()\n")
    result = await score(HumanEval(), "HumanEval/13", f"```python\n{attack}```")
    assert result.reward == 0.0 and result.details["error"]["type"] in ("FileNotFoundError", "PermissionError")
    assert result.details["tier"] in ("bwrap", "landlock")
    assert secret.read_text() == "s3cret" and not (tmp_path / "planted").exists()


async def test_scoring_refuses_to_run_without_isolation_unless_asked():
    env = HumanEval()
    task = env.tasks()[13]
    with pytest.raises(SandboxUnavailable):
        await env.score(env.episode(task), env.oracle(task, "tool-calling")[0], ScoringContext(tier="unsafe"))
    unsafe = await env.score(env.episode(task), env.oracle(task, "tool-calling")[0],
                             ScoringContext(tier="unsafe", allow_unsafe=True))
    assert unsafe.success and unsafe.details["tier"] == "unsafe"


# --- --tasks FILE --------------------------------------------------------------------------------


def _humaneval_rows():
    with gzip.open(HUMANEVAL_DATA, "rt") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("name", ["humaneval.jsonl", "humaneval.jsonl.gz"])
async def test_a_humaneval_tasks_file_loads_and_scores(tmp_path, name):
    lines = "".join(json.dumps(r) + "\n" for r in _humaneval_rows()[30:32])
    path = tmp_path / name
    path.write_bytes(gzip.compress(lines.encode()) if name.endswith(".gz") else lines.encode())
    env = get_env("humaneval", path)
    assert [t.id for t in env.tasks()] == ["HumanEval/30", "HumanEval/31"]
    samples, progress, got = await run_oracle(env, ["tool-calling", "codeact"], tmp_path / "out")
    assert_all_passed(samples, progress, got)
    assert len(got) == 4


async def test_an_mbpp_tasks_file_loads_and_scores(tmp_path):
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(MBPP_DATA.read_text().splitlines(keepends=True)[366:368]))  # 367 has setup code
    env = get_env("mbpp", path)
    assert [t.id for t in env.tasks()] == ["mbpp/367", "mbpp/368"]
    samples, progress, got = await run_oracle(env, ["tool-calling"], tmp_path / "out")
    assert_all_passed(samples, progress, got)


def test_bad_tasks_files_are_config_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "x/1", "prompt": "def f():\n", "entry_point": "f"}) + "\n")
    with pytest.raises(ConfigError, match=r"line 1: expected JSON with task_id, prompt.*canonical_solution"):
        get_env("humaneval", bad).tasks()
    bad.write_text("\n" + json.dumps({"task_id": "1", "text": "t", "code": "", "test_list": []}) + "\n")
    with pytest.raises(ConfigError, match="mbpp tasks .* line 2: .*task_id is str, expected int"):
        get_env("mbpp", bad).tasks()
    twice = tmp_path / "twice.jsonl"
    twice.write_text("".join(MBPP_DATA.read_text().splitlines(keepends=True)[:1]) * 2)
    with pytest.raises(ConfigError, match="task mbpp/1 appears twice"):
        get_env("mbpp", twice).tasks()
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b"{}\n")[:12])
    with pytest.raises(ConfigError, match="humaneval tasks"):
        HumanEval(broken).tasks()
