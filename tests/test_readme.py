"""Every code block of README.md, run as a reader would run it, offline.

How a block runs, by its fence's language:

- `bash`: the block's lines run in order in one bash process (`set -euo pipefail`; a trap names the
  command that failed), in one temporary working folder that every block shares in README order (a
  later block uses the runs and files an earlier one made), with `agentzoo` resolved to this venv's
  entry point (its `bin` folder first on PATH), `AGENTZOO_OFFLINE=1` and the journal in that folder.
  The folder holds `experiments/` and `bench/` as a clone does. Remote providers are played by the
  project's fake OpenAI-compatible server (`agentzoo.testing.fake_openai`): `OPENAI_BASE_URL` and a
  dummy `OPENAI_API_KEY` send `openai:` models to it, and `SERVER`, the variable the README's
  `openai-compatible:NAME@$SERVER` example reads, is its base URL. OpenTelemetry goes to a small
  local OTLP/HTTP receiver through `OTEL_EXPORTER_OTLP_ENDPOINT`, which the README documents too.
  `local:smollm2-135m` runs for real (the test command installs its weights).
- `python`: in a fresh interpreter (this venv's), in the same folder and environment. A block whose
  first line is `# continues the block above` is appended to the Python block before it.
- A `python` or `yaml` block whose first line is `# NAME.py` / `# NAME.yaml` is a file the reader
  saves: it is written into the folder (later blocks use it). Python files are compiled; YAML files are
  validated: an experiment file loads with `agentzoo.eval.experiment`, an agent spec file is a valid
  `AgentSpec`, a synthesis file (`pipeline:`) loads and its pipeline takes it, a list is a `ScriptedModel` script.

The first two blocks are the install command and the test command. They are not run again here (they
install system packages and a virtual environment: that is what `.ci/run` does). Instead: the test
command must be exactly `.ci/run`'s last command; the install command's scripts must exist and be
executable and its pip extras must exist in pyproject.toml; and its last step, `agentzoo demo`, the
main job, is run (with no model configured, as on a fresh machine).

Besides the blocks: every `agentzoo ...` command the README names in inline code exists with the
flags it shows, every `experiments/*.yaml` it names loads (an experiment or a synthesis file), and every relative link resolves.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the venv's bin folder: its `agentzoo` entry point comes first on PATH
CONTINUES = "# continues the block above"
FILE_MARK = re.compile(r"#\s*([\w.-]+\.(?:py|ya?ml))(?::|\s|$)")
TIMEOUT = 600
EXTRAS_USED = {  # an extra, and what in a README block needs it: the first command installs them all
    "eval": r"agentzoo eval ",
    "otel": r"--otel\b|agentzoo otel ",
    "testing": r"agentzoo\.testing",
    "local": r"\blocal:",
    "synth": r"agentzoo synth ",
}


@dataclass
class Block:
    index: int
    lang: str
    text: str
    line: int  # 1-based line of the opening fence

    @property
    def file_name(self) -> str | None:
        if self.lang not in ("python", "yaml"):
            return None
        match = FILE_MARK.match(self.text.split("\n", 1)[0])  # `# play.py: what it is`
        return match.group(1) if match else None

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang})"


def read_blocks(text: str) -> list[Block]:
    """Fenced blocks: a line starting with ```lang opens one, a line that is ``` closes it."""
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opening = re.match(r"^```([\w+-]*)\s*$", lines[i])
        if opening:
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            assert i < len(lines), f"README.md:{start + 1}: a code block is never closed"
            blocks.append(Block(len(blocks), opening.group(1) or "text", "\n".join(body) + "\n", start + 1))
        i += 1
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))
INSTALL, TESTS, *REST = BLOCKS


def prose(text: str) -> str:
    """The README without its fenced blocks."""
    return re.sub(r"^```[\w+-]*\s*$.*?^```\s*$", "", text, flags=re.S | re.M)


# --- the stand-ins for remote services ---------------------------------------------------------------


def arithmetic_player(body: dict) -> dict:
    """The fake provider's model: it plays the README's task, "What is (17 + 25) * 3?", in whatever
    shape the request asks for (native tool calls, a json tool mode's JSON, CodeAct code, plain text)."""
    messages = body.get("messages") or []
    turn = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    names = {t["function"]["name"] for t in body.get("tools") or [] if isinstance(t, dict) and "function" in t}
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    calls = [("add", {"a": 17, "b": 25}), ("multiply", {"a": 42, "b": 3})]
    if {"add", "multiply"} <= names:
        if turn < 2:
            return {"tool_calls": [{"name": calls[turn][0], "arguments": calls[turn][1]}]}
        return {"content": "126"}
    if (body.get("response_format") or {}).get("type") == "json_schema":
        import json

        if turn < 2 and '"add"' in json.dumps(body["response_format"]):
            return {"content": json.dumps({"name": calls[turn][0], "arguments": calls[turn][1]})}
        return {"content": json.dumps({"final_answer": "126"})}
    if "block of Python code between `Action:`" in system:  # CodeAct, code actions
        if turn == 0:
            return {"content": "Action:\nprint(multiply(add(17, 25), 3))\nEnd Action"}
        return {"content": "Answer: 126"}
    return {"content": "(17 + 25) * 3 = 42 * 3 = 126. The answer is 126."}


class OtlpReceiver:
    """A local OTLP/HTTP endpoint that accepts every export (an empty protobuf answer) and counts them."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the reader's working folder ------------------------------------------------------------------------


class Workspace:
    """One folder and environment for the README's blocks, run in README order (each at most once)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.outcome: dict[int, str | None] = {}  # block index -> None (passed) or why it failed

    def run_through(self, block: Block) -> None:
        """Run every block before `block` that has not run, then `block`; fail if any of them failed."""
        for earlier in REST:
            if earlier.index > block.index:
                break
            if earlier.index not in self.outcome:
                try:
                    self._run(earlier)
                    self.outcome[earlier.index] = None
                except AssertionError as exc:
                    self.outcome[earlier.index] = str(exc)
            if self.outcome[earlier.index] is not None:
                which = "" if earlier is block else f"an earlier block, {earlier}, failed: "
                pytest.fail(which + self.outcome[earlier.index], pytrace=False)

    def _run(self, block: Block) -> None:
        if block.text.startswith(CONTINUES):
            return  # run as part of the block it continues
        if block.file_name:
            self._save(block)
        elif block.lang == "bash":
            self._bash(block)
        elif block.lang == "python":
            self._python(block)
        elif block.lang == "yaml":
            validate_yaml(block.text, str(block))
        else:
            raise AssertionError(f"{block}: no rule runs a '{block.lang}' block; add one to tests/test_readme.py")

    def _save(self, block: Block) -> None:
        path = self.folder / block.file_name
        path.write_text(block.text, encoding="utf-8")
        if block.lang == "python":
            try:
                compile(block.text, block.file_name, "exec")
            except SyntaxError as exc:
                raise AssertionError(f"{block}: {block.file_name} does not compile: {exc}") from None
        else:
            validate_yaml(block.text, f"{block} ({block.file_name})")

    def _bash(self, block: Block) -> None:
        script = ("set -euo pipefail\n"
                  "trap 'echo \"README command failed (exit $?): $BASH_COMMAND\" >&2' ERR\n" + block.text)
        self._check(block, subprocess.run(["bash", "-c", script], cwd=self.folder, env=self.env, text=True,
                                          capture_output=True, timeout=TIMEOUT))

    def _python(self, block: Block) -> None:
        code = block.text
        for later in BLOCKS[block.index + 1:]:
            if not later.text.startswith(CONTINUES):
                break
            code += later.text
        path = self.folder / f"readme_block_{block.line}.py"
        path.write_text(code, encoding="utf-8")
        self._check(block, subprocess.run([sys.executable, path.name], cwd=self.folder, env=self.env, text=True,
                                          capture_output=True, timeout=TIMEOUT))

    def _check(self, block: Block, out: subprocess.CompletedProcess) -> None:
        (self.folder / f"readme_block_{block.line}.log").write_text(out.stdout + out.stderr, encoding="utf-8")
        shown = f"\n--- stdout ---\n{out.stdout[-6000:]}\n--- stderr ---\n{out.stderr[-6000:]}"
        assert out.returncode == 0, f"{block} exited with {out.returncode}:{shown}"
        assert "Traceback (most recent call last)" not in out.stdout + out.stderr, f"{block} printed a traceback:{shown}"


def validate_yaml(text: str, where: str) -> None:
    from agentzoo.eval.experiment import load_experiment
    from agentzoo.models.scripted import ScriptedModel
    from agentzoo.runtime.spec import AgentSpec

    data = yaml.safe_load(text)
    if isinstance(data, list):
        ScriptedModel(data, name=where)  # checks every step's shape
    elif isinstance(data, dict) and "agents" in data and "envs" in data:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "experiment.yaml"
            path.write_text(text, encoding="utf-8")
            load_experiment(path)  # raises ConfigError naming line and key
    elif isinstance(data, dict) and "agent" in data:
        AgentSpec.model_validate({"model": "-", **data})  # the model may come from --model
    elif isinstance(data, dict) and "pipeline" in data:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "synth.yaml"
            path.write_text(text, encoding="utf-8")
            load_synthesis(path)
    else:
        raise AssertionError(f"{where}: a YAML block that is neither an experiment, an agent spec, a synthesis "
                             "file nor a script")


def load_synthesis(path: Path) -> None:
    """A synthesis file loads and its pipeline takes its settings (errors name the file, line and key)."""
    from agentzoo.synth.pipelines import get_pipeline
    from agentzoo.synth.settings import load_settings

    settings = load_settings(path)
    settings.check(get_pipeline(settings.pipeline))


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTZOO_", "OPENAI_", "OTEL_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", AGENTZOO_OFFLINE="1", COLUMNS="120",
               PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


@pytest.fixture(scope="module")
def otlp():
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, otlp):
    from agentzoo.testing.fake_openai import FakeOpenAIServer

    folder = tmp_path_factory.mktemp("readme")
    for shipped in ("experiments", "bench"):  # what a clone has
        (folder / shipped).symlink_to(ROOT / shipped)
    with FakeOpenAIServer(arithmetic_player) as server:
        yield Workspace(folder, base_env(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-readme-test-dummy",
                                         SERVER=server.base_url, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint))


# --- the two commands at the top ----------------------------------------------------------------------


def commands(block: Block) -> list[str]:
    lines = [ln for ln in block.text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(lines) == 1, f"{block}: expected one command line"
    return [part.strip() for part in lines[0].split("&&")]


def test_the_test_command_is_exactly_what_ci_runs():
    ci = [ln.strip() for ln in (ROOT / ".ci/run").read_text().split("\n") if ln.strip() and not ln.startswith("#")]
    assert TESTS.lang == "bash" and TESTS.text.strip() == ci[-1]


def test_the_install_command_names_scripts_and_extras_that_exist():
    steps = commands(INSTALL)
    assert steps[-1] == ".venv/bin/agentzoo demo", "the first command ends by running the main job"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for step in steps:
        words = shlex.split(step)
        if words[0].startswith("./scripts/"):
            script = ROOT / words[0]
            assert script.is_file() and os.access(script, os.X_OK), f"{words[0]} is not an executable script"
        elif words[0] == ".venv/bin/pip":
            assert words[1] == "install"
            for word in words[2:]:
                if word.startswith(".["):
                    assert set(word[2:-1].split(",")) <= set(extras), f"{word}: pyproject has {sorted(extras)}"
        else:
            assert step in ("python3 -m venv .venv", ".venv/bin/agentzoo demo"), f"unexpected step {step!r}"
    installed = {extra for step in steps for word in shlex.split(step) if word.startswith(".[")
                 for extra in word[2:-1].split(",")}
    code = "".join(block.text for block in REST)
    needed = {extra for extra, pattern in EXTRAS_USED.items() if re.search(pattern, code)}
    assert needed <= installed, f"the README's blocks need the extras {sorted(needed - installed)}, not installed"
    ci = (ROOT / ".ci/run").read_text()
    assert all(s in ci for s in steps if s.startswith("./scripts/install-system-packages")), \
        "CI installs the same system packages"


def test_the_main_job_runs_on_a_fresh_folder(tmp_path):
    """`agentzoo demo` with no model configured (no key, no AGENTZOO_MODEL), as on a fresh machine: a
    whole run, recorded in the folder's journal, and exit status 0."""
    out = subprocess.run([str(BIN / "agentzoo"), "demo"], cwd=tmp_path, env=base_env(), text=True,
                         capture_output=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^run \S+ · (finished|failed) ·", out.stdout, flags=re.M), out.stdout  # the run's summary line
    assert "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr
    assert (tmp_path / ".agentzoo" / "journal.db").exists()


# --- every other block -----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", REST, ids=[f"line{b.line}-{b.lang}" for b in REST])
def test_readme_block(block, workspace):
    workspace.run_through(block)


def test_the_otel_example_delivered_spans(workspace, otlp):
    if "--otel" not in README.read_text(encoding="utf-8"):
        pytest.skip("the README shows no --otel example")
    workspace.run_through(REST[-1])
    assert any(path.endswith("/v1/traces") for path in otlp.paths), otlp.paths


# --- commands, files and links named in the prose -----------------------------------------------------------


def inline_commands() -> list[str]:
    return sorted(set(re.findall(r"`(agentzoo(?: [^`]*)?)`", prose(README.read_text(encoding="utf-8")))))


def test_every_command_named_in_the_prose_exists_with_its_flags():
    import typer

    from agentzoo.cli.main import app

    root = typer.main.get_command(app)
    problems = []
    for text in inline_commands():
        try:
            words = shlex.split(text.replace("\\|", "|"))
        except ValueError:
            words = text.split()
        command, path = root, ["agentzoo"]
        for word in words[1:]:
            if word in getattr(command, "commands", {}):
                command = command.commands[word]
                path.append(word)
            elif not word.startswith("-") and hasattr(command, "commands") and word.isidentifier():
                problems.append(f"`{text}`: {' '.join(path)} has no command {word!r}")
                break
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
        if command is root:
            known.add("--version")
        for word in words[1:]:
            flag = word.split("=", 1)[0]
            if flag.startswith("-") and len(flag) > 1 and not re.fullmatch(r"-?\d+(\.\d+)?", flag) and flag not in known:
                problems.append(f"`{text}`: {' '.join(path)} has no option {flag}")
    assert not problems, "\n".join(problems)


def test_every_shipped_experiment_the_readme_names_loads():
    from agentzoo.eval.experiment import load_experiment

    named = set(re.findall(r"experiments/[\w.-]+\.yaml", README.read_text(encoding="utf-8")))
    assert named, "the README names the shipped experiment files"
    for name in sorted(named):
        assert (ROOT / name).is_file(), name
        if "pipeline" in yaml.safe_load((ROOT / name).read_text(encoding="utf-8")):
            load_synthesis(ROOT / name)  # a synthesis file (`agentzoo synth FILE`)
        else:
            load_experiment(ROOT / name)
    assert {f"experiments/{p.name}" for p in (ROOT / "experiments").glob("*.yaml")} <= named, \
        "every shipped experiment file is in the README"


def test_every_relative_link_resolves():
    text = README.read_text(encoding="utf-8")
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", prose(text), flags=re.M)}
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(text)):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (ROOT / path).exists(), f"link to {path}, which is not in the repository"
        elif anchor:
            assert anchor in anchors, f"link to #{anchor}, which is no heading"


def test_every_environment_variable_agentzoo_reads_is_documented():
    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "agentzoo").rglob("*.py"))
    names = set(re.findall(r"\bAGENTZOO_[A-Z_]+[A-Z]\b", source))
    missing = sorted(n for n in names if f"`{n}`" not in README.read_text(encoding="utf-8"))
    assert not missing, f"the README's environment variables table lacks {missing}"
