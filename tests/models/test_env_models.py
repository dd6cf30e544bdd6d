"""Models an environment makes itself (tau's customer, the judges) take their client's settings as agents' do."""

from __future__ import annotations

import json

import pytest

from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError
from agentzoo.models.registry import env_model, env_model_args
from agentzoo.models.scripted import ScriptedModel
from agentzoo.testing.fake_openai import FakeOpenAIServer
from helpers.cli import agentzoo

URL = "openai-compatible:m@http://127.0.0.1:9/v1"


def test_a_model_string_a_mapping_with_settings_or_a_model_object():
    assert env_model_args(URL, "x") == (URL, {})
    assert env_model_args({"model": URL, "model_options": {"stream": False, "max_concurrency": 8}}, "x") == \
        (URL, {"stream": False, "max_concurrency": 8})
    assert env_model_args({"model": URL}, "x") == (URL, {})
    script = ScriptedModel(["hi"])
    assert env_model_args(script, "x") is None and env_model(script, "x") is script
    made = env_model({"model": URL, "model_options": {"stream": False, "idle_timeout": None}}, "x")
    assert (made.stream, made.idle_timeout, made.model) == (False, None, "m")


@pytest.mark.parametrize("value,named", [
    ({"model": URL, "model_options": {"strem": False}},
     "environment tau-retail, option user_model: model option 'strem': openai-compatible models take stream"),
    ({"model": URL, "model_options": {"max_concurrency": 0}}, "max_concurrency=0: must be a whole number > 0"),
    ({"model": "scripted:s.json", "model_options": {"stream": False}}, "scripted models take none"),
    ({"model": URL, "options": {"stream": False}}, "it has keys model, options"),
    ({"model_options": {"stream": False}}, "expected a model string, or a mapping of model"),
    ({"model": URL, "model_options": ["stream=false"]}, "it has keys model, model_options"),
    (5, "expected a model string, or a mapping of model (a model string) and model_options (KEY: VALUE settings "
        "of its client); it is int"),
])
def test_a_bad_one_is_refused_when_the_environment_is_made_naming_the_option(value, named):
    with pytest.raises(ConfigError) as caught:
        get_env("tau-retail", user_model=value)
    assert named in str(caught.value)
    assert str(caught.value).startswith("environment tau-retail, option user_model: ")


async def test_taus_customer_model_reads_its_replies_as_its_settings_say():
    with FakeOpenAIServer({"content": "My order is #W0000000. ###STOP###"}, repeat_last=True) as srv:
        model = f"openai-compatible:m@{srv.base_url}"
        for user_model, streamed in ((model, True), ({"model": model, "model_options": {"stream": False}}, False)):
            env = get_env("tau-retail", user_model=user_model)
            episode = env.episode(env.tasks()[0])
            send = next(t for t in episode.tools if t.name == "send_message_to_user")
            await send.invoke({"message": "How can I help?"})
            assert srv.requests[-1].get("stream", False) is streamed
            assert srv.requests[-1]["messages"][1] == {"role": "user", "content": "How can I help?"}


def test_every_judge_takes_the_mapping():
    options = {"model": URL, "model_options": {"stream": False, "max_tool_calls": 2}}
    judges = [get_env("webworld", judge=options).judge, get_env("proactive-events", judge=options).judge,
              get_env("persona-sessions", judge=options).judge]
    for judge in judges:
        assert (judge.model.stream, judge.model.max_tool_calls) == (False, 2)
    for name in ("webworld", "proactive-events", "persona-sessions"):
        with pytest.raises(ConfigError, match=f"^environment {name}, option judge: model option 'strem'"):
            get_env(name, judge={"model": URL, "model_options": {"strem": 1}})


def test_an_eval_refuses_a_bad_one_from_an_experiment_file_before_it_starts(tmp_path):
    (tmp_path / "exp.yaml").write_text(json.dumps({
        "agents": ["tool-calling"], "models": ["oracle"],
        "envs": [{"name": "tau-retail", "limit": 1,
                  "options": {"user_model": {"model": URL, "model_options": {"stream": "no"}}}}]}))
    out = agentzoo("eval", tmp_path / "exp.yaml", "--out", tmp_path / "r", cwd=tmp_path, check=False)
    named = "environment tau-retail, option user_model: model option stream='no': must be true or false"
    assert out.returncode == 2 and named in out.stderr, out.stderr
    assert not (tmp_path / "r").exists()
