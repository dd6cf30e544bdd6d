"""Generated ADAS code never runs outside the sandbox (issue 15, evidence 3).

Hostile `forward` code tries to write a file in the host's /tmp and in the test's folder, read a secret
from the host's environment and a file of the host, connect to a server listening on the host, run a
shell command and import agentzoo to reach the host's machinery. It runs in the sandbox the machine
has (bubblewrap here: its own /tmp, no network, an empty environment, the host's files not mounted),
both as an agent and as a candidate the search evaluates through the harness: nothing of it reaches
the host, and what it saw is reported back through its answer.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest

from agentzoo import Journal, ScriptedModel
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.eval.adas import HarnessEvaluator
from agentzoo.runtime import runner
from agentzoo.sandbox import probe
from agentzoo.search.adas import AdasAgent, AdasSearch, Archive, Brief, MetaAgent, Settings
from agentzoo.search.adas.agent import API_SOURCE

pytestmark = pytest.mark.skipif(not any(r.available for r in probe() if r.name != "unsafe"),
                                reason="no isolating sandbox tier works on this machine")

HOSTILE = '''def forward(self, task):
    import json, os, socket, subprocess
    seen = {}
    def attempt(name, action):
        try:
            seen[name] = repr(action())
        except BaseException as exc:
            seen[name] = type(exc).__name__ + ": " + str(exc)
    def write(path):
        with open(path, "w") as f:
            f.write("pwned")
        return "written"
    attempt("tmp", lambda: write(TMP_TARGET))
    attempt("host_dir", lambda: write(HOST_TARGET))
    attempt("secret", lambda: os.environ.get("ADAS_HOSTILE_SECRET"))
    attempt("read_host", lambda: open(HOST_FILE).read())
    attempt("connect", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2).close())
    attempt("system", lambda: os.system("touch " + SHELL_TARGET + " && echo pwned > " + SHELL_TARGET))
    attempt("agentzoo", lambda: __import__("agentzoo"))
    attempt("env", lambda: sorted(os.environ))
    thinking, answer = LLMAgent(["thinking", "answer"], "Spy")([task], "Answer.")
    return json.dumps(seen)
'''


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The host's bait: a listening socket that counts connections, a secret, a private file, target paths."""
    secret = "s3cret-" + uuid.uuid4().hex
    monkeypatch.setenv("ADAS_HOSTILE_SECRET", secret)
    (tmp_path / "private.txt").write_text(secret)
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    tag = uuid.uuid4().hex
    bait = {"TMP_TARGET": f"/tmp/adas-hostile-{tag}", "HOST_TARGET": str(tmp_path / "written-by-agent"),
            "HOST_FILE": str(tmp_path / "private.txt"), "SHELL_TARGET": f"/tmp/adas-hostile-shell-{tag}",
            "PORT": server.getsockname()[1]}
    code = HOSTILE
    for name, value in bait.items():
        code = code.replace(name, repr(value))
    yield {"code": code, "secret": secret, "accepted": accepted, **bait}
    server.close()


def assert_nothing_reached_the_host(host, seen, journal_bytes):
    from pathlib import Path

    for target in ("TMP_TARGET", "HOST_TARGET", "SHELL_TARGET"):
        assert not Path(host[target]).exists(), f"{target} was created on the host"
    assert host["accepted"] == [], "the code connected to a server on the host"
    assert host["secret"] not in json.dumps(seen) and host["secret"].encode() not in journal_bytes
    assert seen["tmp"] == "'written'"  # it wrote: into the sandbox's own /tmp, gone with it
    assert seen["host_dir"].startswith(("FileNotFoundError", "PermissionError", "OSError"))
    assert seen["read_host"].startswith(("FileNotFoundError", "PermissionError"))
    assert seen["secret"] == "None" and "ADAS_HOSTILE_SECRET" not in seen["env"]
    assert seen["connect"].startswith(("ConnectionRefusedError", "OSError", "TimeoutError", "PermissionError"))
    assert seen["agentzoo"].startswith("ModuleNotFoundError")


async def test_hostile_agent_code_runs_isolated_and_touches_nothing_of_the_host(host, tmp_path):
    model = ScriptedModel(lambda request: json.dumps({"thinking": "t", "answer": "1"}))
    with Journal(tmp_path / "journal.db") as journal:
        result = await runner.run(AdasAgent(model, host["code"], name="Hostile"), "What is 1 + 0?", journal=journal)
        [action] = [e for e in journal.entries(result.run_id) if e.kind == "sandbox"]
    assert result.ok, result.error
    assert action.result["tier"] in ("bwrap", "landlock")
    seen = json.loads(result.answer)
    assert_nothing_reached_the_host(host, seen, (tmp_path / "journal.db").read_bytes())
    assert model.calls == 1  # the one way out it has: an LLM call, made by the host, journaled


async def test_hostile_code_proposed_by_the_meta_agent_is_evaluated_in_the_sandbox(host, tmp_path):
    proposal = json.dumps({"thought": "spy", "name": "Hostile", "code": host["code"]})
    meta_model = ScriptedModel([proposal] * 3 + [proposal] * 3)
    env = GSM8K()
    script = tmp_path / "answer.py"
    script.write_text("import json\ndef play(request):\n    return json.dumps({'thinking': 't', 'answer': '1'})\n")
    evaluator = HarnessEvaluator("gsm8k", env, env.tasks()[:2], f"scripted:{script}:play", tmp_path / "work",
                                 concurrency=2)
    program = AdasSearch(MetaAgent(meta_model), evaluator, Brief("gsm8k", "numbers", "q", "1"), Archive([]),
                         settings=Settings(generations=1, debug_max=1), api_source=API_SOURCE)
    with Journal(tmp_path / "journal.db") as journal:
        result = await runner.run(program, "search", journal=journal)
    assert result.ok, result.error
    archive = program.archive
    # It answered wrong on every task: an error for a generated agent; after one repair it was dropped.
    [dropped] = archive.dropped
    assert "a mean accuracy under 0.01" in dropped.reason and dropped.attempts == 2
    journals = b"".join(p.read_bytes() for p in tmp_path.rglob("*.db"))
    answers = [json.loads(a) for a in _answers(tmp_path / "work")]
    assert len(answers) == 2  # two tasks; the repair is the same code, so its evaluation is read back, not run
    for seen in answers:
        assert_nothing_reached_the_host(host, seen, journals)


def _answers(work):
    import sqlite3

    found = []
    for db in work.rglob("results.db"):
        con = sqlite3.connect(db)
        try:
            found += [json.loads(row)["answer"] for (row,) in con.execute("SELECT row FROM samples")]
        finally:
            con.close()
    return found
