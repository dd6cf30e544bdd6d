"""Settings of a model's client from the front end (`--model-opt KEY=VALUE`, `model_options:`): a rollout
that needs no live text reads each reply whole, a busy endpoint gets its own window, and every setting a
model would not take is refused by name before anything runs."""

from __future__ import annotations

import json

import pytest

from agentzoo import Journal
from agentzoo.errors import ConfigError
from agentzoo.eval.anchor import plan_anchor
from agentzoo.models.registry import model_options, parse_model
from agentzoo.runtime.spec import AgentSpec
from agentzoo.testing.fake_openai import FakeOpenAIServer, add_agent
from helpers.cli import agentzoo

TOOLS = "agentzoo.examples.demo:add"


def az(*args, cwd, check=True):
    return agentzoo(*args, cwd=cwd, env={"AGENTZOO_OFFLINE": "1"}, check=check)


@pytest.fixture
def server():
    with FakeOpenAIServer(add_agent(2)) as srv:
        yield srv


def test_stream_false_reads_each_reply_whole_and_the_run_keeps_the_setting(tmp_path, server):
    model = f"openai-compatible:m@{server.base_url}"
    az("run", "add 1 and 2", "--model", model, "--tools", TOOLS, "--journal", tmp_path / "j.db", cwd=tmp_path)
    assert [r.get("stream") for r in server.requests] == [True, True]  # the default: streamed
    server.requests.clear()
    az("run", "add 1 and 2", "--model", model, "--tools", TOOLS, "--model-opt", "stream=false",
       "--model-opt", "max_concurrency=2", "--journal", tmp_path / "j.db", cwd=tmp_path)
    assert len(server.requests) == 2 and not any("stream" in r for r in server.requests)
    with Journal(tmp_path / "j.db") as journal:
        run = journal.list_runs(1)[0]
        assert run.status == "finished" and run.config["model_options"] == {"stream": False, "max_concurrency": 2}
        streamed = journal.list_runs(2)[1]
        # The wire's setting is not part of what a model call asks: both runs' requests hash the same.
        assert ([e.request_hash for e in journal.entries(run.run_id)]
                == [e.request_hash for e in journal.entries(streamed.run_id)])
    # A fork rebuilds the model with the run's settings, or with those --set gives.
    server.requests.clear()
    az("fork", run.run_id, "--task", "add 3 and 4", "--journal", tmp_path / "j.db", cwd=tmp_path)
    assert server.requests and not any("stream" in r for r in server.requests)
    server.requests.clear()
    az("fork", run.run_id, "--task", "add 5 and 6", "--set", "model_options.stream=true",
       "--journal", tmp_path / "j.db", cwd=tmp_path)
    assert server.requests and all(r.get("stream") is True for r in server.requests)


@pytest.mark.parametrize("flags,named", [
    (["--model-opt", "strem=false"], "model option 'strem': openai-compatible models take stream, connect_timeout"),
    (["--model-opt", "stream=off"], "model option stream='off': must be true or false"),
    (["--model-opt", "stream=null"], "model option stream=None: must be true or false"),
    (["--model-opt", "max_concurrency=0"], "max_concurrency=0: must be a whole number > 0 or null"),
    (["--model-opt", "max_concurrency=2.5"], "max_concurrency=2.5: must be a whole number > 0 or null"),
    (["--model-opt", "max_tool_calls=true"], "max_tool_calls=True: must be a whole number > 0"),
    (["--model-opt", "idle_timeout=-1"], "idle_timeout=-1: must be a number of seconds > 0 or null"),
    (["--model-opt", "headers={}"],
     "--model-opt: Value error, headers: a setting is one value (true or false, a number, a text or null), not dict"),
    (["--model-opt", "headers=x"], "model option 'headers'"),  # never a secret in the run's config
    (["--model-opt", "api_key=sk-x"], "model option 'api_key'"),
    (["--model-opt", "stream"], "--model-opt 'stream': expected KEY=VALUE"),
    (["--model-opt", "stream=false", "--stream"], "model_options.stream is false (--model-opt stream=false)"),
])
def test_a_setting_the_model_would_not_take_is_refused_by_name_before_the_run(tmp_path, server, flags, named):
    out = az("run", "q", "--model", f"openai-compatible:m@{server.base_url}", *flags,
             "--journal", tmp_path / "j.db", cwd=tmp_path, check=False)
    assert out.returncode == 2 and named in out.stderr, out.stdout + out.stderr
    assert server.count == 0
    assert not (tmp_path / "j.db").exists() or not Journal(tmp_path / "j.db").list_runs(), "nothing ran"


def test_settings_for_a_model_that_takes_none_are_an_error_not_ignored(tmp_path):
    (tmp_path / "s.json").write_text('["hi"]')
    out = az("run", "q", "--model", "scripted:s.json", "--model-opt", "stream=false", "--journal", tmp_path / "j.db",
             cwd=tmp_path, check=False)
    assert out.returncode == 2 and "model options stream (--model-opt): no model given takes any (scripted:s.json)" in out.stderr, out.stderr
    out = az("eval", "--env", "gsm8k", "--model", "oracle", "--limit", "1", "--model-opt", "stream=false",
             "--out", tmp_path / "r", cwd=tmp_path, check=False)
    assert out.returncode == 2 and "no model given takes any (oracle)" in out.stderr, out.stderr
    assert not (tmp_path / "r" / "results.db").exists()


def test_an_eval_applies_them_to_every_sample_and_an_experiment_file_says_the_same(tmp_path):
    with FakeOpenAIServer({"content": "The answer is 5."}, repeat_last=True) as srv:
        model = f"openai-compatible:m@{srv.base_url}"
        az("eval", "--env", "gsm8k", "--limit", "3", "--model", model, "--model-opt", "stream=false",
           "--workers", "1", "--out", tmp_path / "flags", cwd=tmp_path)
        assert srv.count == 3 and not any("stream" in r for r in srv.requests)
        (tmp_path / "exp.yaml").write_text(json.dumps({
            "agents": ["tool-calling"], "envs": [{"name": "gsm8k", "limit": 3}], "models": [model],
            "model_options": {"stream": False}, "workers": 1}))
        az("eval", tmp_path / "exp.yaml", "--out", tmp_path / "file", cwd=tmp_path)
        assert srv.count == 6 and not any("stream" in r for r in srv.requests)
        out = az("eval", tmp_path / "exp.yaml", "--model-opt", "stream=true", "--out", tmp_path / "x", cwd=tmp_path,
                 check=False)
        assert out.returncode == 2 and "--model-opt" in out.stderr and "change it there" in out.stderr, out.stderr
        out = az("eval", "--env", "gsm8k", "--limit", "3", "--model", f"oracle,{model}", "--model-opt",
                 "first_byte_timeout=-5", "--out", tmp_path / "bad", cwd=tmp_path, check=False)
        assert out.returncode == 2 and "first_byte_timeout=-5" in out.stderr, out.stderr
        assert srv.count == 6 and not (tmp_path / "bad" / "results.db").exists()


def test_an_eval_checks_the_settings_against_each_agents_role_models_before_it_starts(tmp_path):
    with FakeOpenAIServer({"content": "The answer is 5."}, repeat_last=True) as srv:
        model = f"openai-compatible:m@{srv.base_url}"
        (tmp_path / "exp.yaml").write_text(json.dumps({
            "agents": [{"agent": "llm-debate", "label": "d", "models": {"aggregator": "local:smollm2-135m"}}],
            "envs": [{"name": "gsm8k", "limit": 2}], "models": [model], "model_options": {"max_concurrency": 4}}))
        out = az("eval", tmp_path / "exp.yaml", "--out", tmp_path / "r", cwd=tmp_path, check=False)
        assert out.returncode == 2 and ("agent d: role aggregator's model local:smollm2-135m: model option "
                                        "'max_concurrency': local models take") in out.stderr, out.stderr
        assert srv.count == 0 and not (tmp_path / "r").exists()  # refused before the first sample, not at it
        (tmp_path / "exp.yaml").write_text(json.dumps({
            "agents": [{"agent": "llm-debate", "label": "d", "models": {"aggregator": f"{model}x"}}],
            "envs": [{"name": "gsm8k", "limit": 2}], "models": [model], "model_options": {"idle_timeout": 0}}))
        out = az("eval", tmp_path / "exp.yaml", "--out", tmp_path / "r", cwd=tmp_path, check=False)
        assert out.returncode == 2 and "idle_timeout=0" in out.stderr and not (tmp_path / "r").exists(), out.stderr


@pytest.mark.parametrize("spec,options,expected", [
    ("local:smollm2-135m", {"seed": 0, "ctx": 8192, "cache": True}, {"seed": 0, "ctx": 8192, "cache": True}),
    ("openai-compatible:m@http://h/v1", {"first_byte_timeout": None, "connect_timeout": 2}, None),
    ("openai:gpt-4o-mini", {"stream": False}, None),
    ("scripted:s.json", {"stream": False}, {}),  # takes none: the command line says so (above)
    ("oracle", {"anything": 1}, {}),
])
def test_the_settings_each_kind_of_model_takes(spec, options, expected):
    assert model_options(spec, options) == (options if expected is None else expected)


@pytest.mark.parametrize("spec,options,named", [
    ("local:smollm2-135m", {"seed": -1}, "seed=-1: must be a whole number ≥ 0"),
    ("local:smollm2-135m", {"max_concurrency": 4}, "model option 'max_concurrency': local models take stream, ctx"),
    ("local:smollm2-135m", {"ctx": None}, "ctx=None: must be a whole number > 0"),
    ("openai-compatible:m@http://h/v1", {"connect_timeout": "5"}, "connect_timeout='5': must be a number of seconds"),
    ("openai-compatible:m@http://h/v1", {"max_response_bytes": float("nan")}, "max_response_bytes=nan"),
])
def test_a_setting_of_the_wrong_kind_is_named(spec, options, named):
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(")", r"\)")):
        model_options(spec, options)


def test_the_settings_reach_the_client():
    model = parse_model("openai-compatible:m@http://127.0.0.1:9/v1",
                        **model_options("openai-compatible:m@http://127.0.0.1:9/v1",
                                        {"stream": False, "first_byte_timeout": 600, "idle_timeout": None,
                                         "max_tool_calls": 3}))
    assert (model.stream, model.first_byte_timeout, model.idle_timeout, model.max_tool_calls) == (False, 600, None, 3)


def test_the_anchor_of_a_team_eval_runs_with_the_teams_settings():
    team = AgentSpec(agent="llm-debate", model="<models>", model_options={"stream": False})
    _label, anchor, _info = plan_anchor({"debate": team}, ["gsm8k"])
    assert anchor.model_options == {"stream": False}


@pytest.mark.parametrize("command", [
    ["serve", "--openai", "--port", "0"],
    ["mcp", "serve", "--agent", "tool-calling"],
    ["synth", "agentinstruct", "--out", "synth-out"],
    ["adas", "search", "--archive", "archive.json", "--generations", "0"],
    ["demo"],
])
def test_every_command_that_takes_a_model_takes_its_settings_and_refuses_a_wrong_one(tmp_path, command):
    model = "openai-compatible:m@http://127.0.0.1:9/v1"
    out = az(*command, "--model", model, "--model-opt", "strem=false", "--journal", tmp_path / "j.db", cwd=tmp_path,
             check=False) if command[0] != "synth" else az(*command, "--model", model, "--model-opt", "strem=false",
                                                          cwd=tmp_path, check=False)
    assert out.returncode == 2 and "model option 'strem': openai-compatible models take" in out.stderr, out.stderr
    assert not (tmp_path / "synth-out").exists() and not (tmp_path / "archive.json").exists()


def test_the_demo_takes_them_and_keeps_them_in_its_run(tmp_path):
    with FakeOpenAIServer({"content": "(17 + 25) * 3 = 126"}, repeat_last=True) as srv:
        out = az("demo", "--model", f"openai-compatible:m@{srv.base_url}", "--model-opt", "stream=false",
                 "--journal", tmp_path / "j.db", cwd=tmp_path)
        assert "replay: the same outcome, 0 live effects" in out.stdout, out.stdout
        assert srv.count == 1 and "stream" not in srv.requests[0]
    with Journal(tmp_path / "j.db") as journal:
        assert journal.list_runs()[0].config["model_options"] == {"stream": False}
    out = az("demo", "--scripted", "--model-opt", "stream=false", "--journal", tmp_path / "k.db", cwd=tmp_path,
             check=False)
    assert out.returncode == 2 and "no model given takes any" in out.stderr and not (tmp_path / "k.db").exists()


def test_a_served_agent_gets_the_settings(tmp_path):
    from agentzoo.cli.serve_cmd import service_from_flags

    service = service_from_flags(None, "openai-compatible:m@http://127.0.0.1:9/v1", None, None, None, None, None,
                                 None, tmp_path / "j.db", model_opt=["stream=false", "max_concurrency=8"])
    assert service.spec.model_options == {"stream": False, "max_concurrency": 8}
    service.journal.close()
