"""Scripted model files of every wrong shape: a `ConfigError` that names the file and the step,
raised when the file is loaded (not half way through a run); Python scripts are checked the same
way, and a function script's answers when they come."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentzoo.errors import ConfigError
from agentzoo.models.registry import parse_model
from agentzoo.models.scripted import ScriptedModel
from agentzoo.types import ModelRequest

SRC = Path(__file__).resolve().parents[2] / "src"
CALL = '{"name": "add", "arguments": {"a": 1, "b": 2}}'

BAD_FILES = [
    # (file name, content, what the message says)
    ("bad-utf8.json", b'["ok", "caf\xe9"]', "not UTF-8 text (byte offset 11, line 1)"),
    ("bad-utf8.yaml", b"- ok\n- \xff\xfe\n", "not UTF-8 text (byte offset 7, line 2)"),
    ("broken.json", b'[{"content": "a"', "not valid JSON"),
    ("broken.yaml", b"- [unclosed\n", "not valid YAML"),
    ("empty.json", b"", "not valid JSON"),
    ("empty.yaml", b"", "expected a list of steps"),
    ("mapping.yaml", b"content: hi\n", "expected a list of steps"),
    ("scalar.yaml", b"just text\n", "expected a list of steps"),
    ("steps-not-list.json", b'{"steps": 5}', "expected a list of steps"),
    ("number-step.json", f'["a", {{"tool_calls": [{CALL}]}}, 42]'.encode(), "step 3 is a number (42)"),
    ("null-step.yaml", b"- hello\n- null\n", "step 2 is null"),
    ("list-step.json", b'[["a", "b"]]', "step 1 is a list"),
    ("bool-step.yaml", b"- yes\n", "step 1 is a boolean"),
    ("no-name.json", b'[{"tool_calls": [{"arguments": {"a": 1}}]}]', "step 1 tool call 1 has no name"),
    ("empty-name.yaml", b"- tool_calls:\n  - name: ''\n", "step 1 tool call 1 has no name"),
    ("name-number.json", b'["x", {"tool_calls": [{"name": 7}]}]', "step 2 tool call 1: name is a number (7), not text"),
    ("calls-string.json", b'[{"tool_calls": "add(1, 2)"}]', "step 1 tool_calls is text; expected a list of calls"),
    ("call-string.yaml", b"- tool_calls: [add]\n", "step 1 tool call 1 is text, not an object"),
    ("args-list.json", b'[{"tool_calls": [{"name": "add", "arguments": [1, 2]}]}]',
     "step 1 tool call 1 (add): arguments are a list"),
    ("content-number.json", b'[{"content": 5}]', "step 1 content is a number (5), not text"),
    ("unknown-key.json", b'[{"content": "a", "tool_call": []}]', "step 1 has unknown key(s) 'tool_call'"),
    ("call-unknown-key.json", b'[{"tool_calls": [{"name": "add", "args": {}}]}]',
     "step 1 tool call 1 has unknown key(s) 'args'"),
    ("empty-step.json", b'["a", {}]', "step 2 is empty"),
    ("user-role.json", b'[{"role": "user", "content": "hi"}]', "step 1 has role 'user'"),
    ("message-no-function.json", b'[{"role": "assistant", "tool_calls": [{"id": "c"}]}]',
     "step 1 tool call 1 has no function object"),
    ("message-args-object.json",
     b'[{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "add", "arguments": {}}}]}]',
     "step 1 tool call 1 (add): arguments are an object, not JSON text"),
    ("int-key.yaml", b"- {1: x}\n", "step 1 has a key that is not text"),
]


@pytest.mark.parametrize("name, content, why", BAD_FILES, ids=[n for n, _, _ in BAD_FILES])
def test_a_bad_script_file_is_a_config_error_naming_file_and_step(tmp_path, name, content, why):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        ScriptedModel.from_file(path)
    message = str(caught.value)
    assert f"scripted model file {path}" in message and why in message, message
    with pytest.raises(ConfigError, match="scripted model file"):
        parse_model(f"scripted:{path}")  # the model string the CLI and the specs use


def test_the_command_line_says_so_without_a_traceback(tmp_path):
    path = tmp_path / "script.json"
    path.write_bytes(b'[{"tool_calls": [{"arguments": {"a": 1}}]}]')
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "run", "Add.", "--model", f"scripted:{path}",
                          "--journal", str(tmp_path / "j.db")], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(SRC)), cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert str(path) in out.stderr and "step 1 tool call 1 has no name" in out.stderr


GOOD = [
    ("good.json", b'["hi", {"content": null, "tool_calls": [{"name": "add", "arguments": "{\\"a\\": 1"}]}]'),
    ("good.yaml", b"- hi\n- tool_calls:\n  - name: add\n    arguments: {a: 1, b: 2}\n    id: c1\n"),
    ("wrapped.json", b'{"steps": ["hi", {"role": "assistant", "content": "x"}]}'),
]


@pytest.mark.parametrize("name, content", GOOD, ids=[n for n, _ in GOOD])
async def test_good_files_still_load_and_play(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    model = ScriptedModel.from_file(path)
    assert model.name == f"scripted:{name}"
    first = await model.complete(ModelRequest(messages=[{"role": "user", "content": "x"}]))
    assert first.text == "hi"


@pytest.mark.parametrize("script, why", [
    ([{"tool_calls": "add"}], "step 1 tool_calls is text"),
    (["ok", 3.5], "step 2 is a number (3.5)"),
    ([{"tool_calls": [{"name": None}]}], "step 1 tool call 1 has no name"),
    ("just text", "a script is a list of steps, not str"),
    ({"content": "x"}, "a script is a list of steps, not dict"),
])
def test_a_python_script_is_checked_when_it_is_made(script, why):
    with pytest.raises(ConfigError, match="^mine: ") as caught:
        ScriptedModel(script, name="mine")
    assert why in str(caught.value)


async def test_a_function_scripts_bad_answer_is_named_when_it_comes():
    answers = iter(["fine", {"tool_calls": [{"arguments": {}}]}])
    model = ScriptedModel(lambda request: next(answers), name="fn")
    request = ModelRequest(messages=[{"role": "user", "content": "x"}])
    assert (await model.complete(request)).text == "fine"
    with pytest.raises(ConfigError, match="^fn: step 2 tool call 1 has no name"):
        await model.complete(request)
