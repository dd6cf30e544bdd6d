"""The agent spec, the catalog and the builder: every option reachable, every bad value named."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

from agentzoo import catalog
from agentzoo.builder import Trust, build
from agentzoo.catalog import get_kind, names, split_agent
from agentzoo.cli.specs import agent_options, parse_value
from agentzoo.errors import ConfigError, UntrustedCodeError
from agentzoo.eval.experiment import Experiment, plan
from agentzoo.models.registry import RecordedOnlyModel
from agentzoo.recipes import RECIPES
from agentzoo.runtime.spec import AgentSpec


def settable_options() -> list[tuple[str, str, Any]]:
    """(recipe, option, a JSON value of the right type) for every option `--agent-opt` can set."""
    cases = []
    for name in RECIPES:
        kind = get_kind(name)
        for option in kind.options.values():
            if option.python_only:
                continue
            value = option.default if not option.required else None
            if value is None or value is inspect.Parameter.empty:
                continue  # an option whose default is None is reachable the same way; its value kind is open
            cases.append((name, option.name, option.adapter.dump_python(value, mode="json")))
    return cases


CASES = settable_options()


def test_every_recipe_has_options_and_the_catalog_names_them_all():
    assert {"tool-calling", "codeact", *RECIPES} <= set(names())
    assert len(CASES) > 40, CASES  # the recipes' constants are options, not hidden in code


@pytest.mark.parametrize("recipe,option,value", CASES, ids=[f"{r}.{o}" for r, o, _ in CASES])
def test_every_recipe_option_reaches_build_from_the_flag_and_from_an_experiment_file(recipe, option, value,
                                                                                    monkeypatch):
    module = importlib.import_module(RECIPES[recipe])
    seen: dict[str, Any] = {}
    real = module.build

    def spy(model, tools=(), **kwargs):
        seen.update(kwargs)
        return real(model, tools, **kwargs)

    spy.__signature__ = inspect.signature(real)  # the catalog reads the options from the signature
    spy.__wrapped__ = real
    monkeypatch.setattr(module, "build", spy)

    text = f"{option}={_flag_text(value)}"
    from_flag = agent_options([f"{recipe}.{text}"], [recipe])[recipe]
    # a recipe that works on a repository gets the tools it needs, as stand-ins
    repository = recipe in ("agentless", "aegis")
    tools = [{"name": n} for n in ("list_files", "read_file", "run_tests", "run_script")] if repository else []
    spec = AgentSpec(agent=recipe, model="scripted:x.json", options=from_flag, recorded_tools=tools)
    build(spec, replay=True)
    assert seen[option] == pytest.approx(value) if isinstance(value, float) else _same(seen[option], value)

    seen.clear()
    experiment = Experiment.model_validate({"agents": [{"agent": recipe, "options": {option: value}}],
                                            "envs": ["gsm8k"], "models": ["oracle"], "anchor": False})
    the_plan = plan(experiment)
    (label, template), = the_plan.agents.items()
    build(template.model_copy(update={"model": "scripted:x.json", "recorded_tools": spec.recorded_tools}), replay=True)
    assert _same(seen[option], value) and label == f"{recipe}[{option}={_label_text(value)}]"


def _flag_text(value: Any) -> str:
    import orjson

    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _label_text(value: Any) -> str:
    import orjson

    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, (tuple, list)) and isinstance(want, list):
        return [_jsonish(g) for g in got] == [_jsonish(w) for w in want]
    return _jsonish(got) == _jsonish(want)


def _jsonish(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonish(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonish(v) for k, v in value.items()}
    return value


def test_an_unknown_option_is_refused_naming_it_and_listing_the_valid_ones():
    spec = AgentSpec(agent="cot-sc", model="scripted:x.json", options={"paths": 5})
    with pytest.raises(ConfigError) as err:
        build(spec, replay=True)
    message = str(err.value)
    assert "unknown option 'paths'" in message and "n (int, default 40)" in message and "temperature" in message


def test_a_wrong_type_is_refused_naming_the_option_its_type_and_the_valid_ones():
    spec = AgentSpec(agent="cot-sc", model="scripted:x.json", options={"n": "many"})
    with pytest.raises(ConfigError, match=r"option n='many' is not a valid int.*valid options: n \(int"):
        build(spec, replay=True)


def test_a_python_only_option_is_refused_from_text():
    kind = get_kind("self-refine")
    python_only = [o.name for o in kind.options.values() if o.python_only]
    assert "stop" in python_only
    with pytest.raises(ConfigError, match="option 'stop' .* can only be given from Python"):
        kind.validate({"stop": "yes"})


def test_presets_are_addressed_with_at_and_unknown_ones_list_the_known():
    assert split_agent("agentcoder@code") == ("agentcoder", "code")
    assert split_agent("pkg.mod:build") == ("pkg.mod:build", None)
    spec = AgentSpec(agent="agentcoder", preset="cheap", model="scripted:x.json")
    with pytest.raises(ConfigError, match=r"agentcoder@cheap: unknown preset; presets: paper, code"):
        build(spec, replay=True)
    with pytest.raises(ConfigError, match="has no presets"):
        build(AgentSpec(agent="tool-calling", preset="x", model="scripted:x.json"), replay=True)


def test_a_preset_sets_options_that_explicit_options_override():
    kind = get_kind("agentcoder")
    code = kind.options_for("code", {})
    assert code and code != kind.options_for("paper", {})
    key = next(iter(code))
    assert kind.options_for("code", {key: code[key]}) == code


@pytest.mark.parametrize("field,value,refused", [
    ({"sandbox": {"tier": "bwrap"}}, "cot", "sandbox settings"),
    ({"sandbox": {"allow_unsafe": True}}, "llm-debate", "sandbox settings"),
    ({"action_format": "react"}, "cot", "action_format"),
    ({"action_format": "yaml"}, "tool-calling", "is not one of tool-calling's"),
    ({"max_steps": 3}, "cot", "max_steps (--max-steps) does not apply to 'cot'"),
])
def test_fields_an_agent_would_not_apply_are_refused_by_name(field, value, refused):
    spec = AgentSpec(agent=value, model="scripted:x.json", **field)
    with pytest.raises(ConfigError, match=refused.replace("(", r"\(").replace(")", r"\)")):
        build(spec, replay=True)


def test_max_steps_maps_to_a_recipes_own_limit():
    built = build(AgentSpec(agent="magentic-one", model="scripted:x.json", max_steps=7), replay=True)
    assert built.agent.policy.max_turns == 7
    with pytest.raises(ConfigError, match="both set the same limit"):
        build(AgentSpec(agent="magentic-one", model="scripted:x.json", max_steps=7, options={"max_turns": 3}),
              replay=True)


@pytest.mark.parametrize("data,message", [
    ({"max_steps": 0}, "max_steps: Input should be greater than or equal to 1"),
    ({"budgets": {"usd": -1}}, "budgets.usd"),
    ({"sampling": {"temperature": 5}}, "sampling.temperature"),
    ({"sampling": {"max_tokens": 0}}, "sampling.max_tokens"),
    ({"colour": "red"}, "colour: unknown key"),
    ({"sandbox": {"tier": "docker"}}, "sandbox.tier"),
])
def test_bad_spec_values_are_typed_errors_naming_the_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        AgentSpec.from_config({"version": 1, "agent": "tool-calling", "model": "scripted:x.json", **data})


@pytest.mark.parametrize("change,message", [
    # a misspelt key, at any depth the spec's own models reach (a field, `X | None`, a mapping's values)
    ({"sampling.tempertaure": 0.5}, "sampling.tempertaure: unknown key; did you mean 'temperature'? "
                                    "(keys: max_tokens, seed, temperature, top_p)"),
    ({"budgets.usdd": 1}, "budgets.usdd: unknown key; did you mean 'usd'?"),
    ({"role_budgets.coder.tokenz": 9}, "role_budgets.coder.tokenz: unknown key; did you mean 'tokens'?"),
    ({"max_step": 3}, "max_step: unknown key; did you mean 'max_steps'? (keys: a2a, "),
    # nothing close: the keys alone
    ({"colour": "red"}, "colour: unknown key (keys: a2a, "),
])
def test_an_unknown_key_says_which_keys_its_place_takes(change, message):
    spec = AgentSpec(agent="tool-calling", model="scripted:x.json")
    with pytest.raises(ConfigError) as caught:
        spec.with_changes(change)
    assert message in str(caught.value)


def test_the_spec_is_what_the_journal_stores_and_it_round_trips():
    spec = AgentSpec(agent="reflexion", preset="tests", model="scripted:x.json", options={"max_trials": 2},
                     sampling={"temperature": 0.3, "seed": 1}, models={"reflect": "scripted:y.json"})
    config = spec.to_config()
    assert config["version"] == 1 and "sandbox" not in config  # defaults are left out
    again = AgentSpec.from_config(config)
    assert again == spec and again.hash() == spec.hash()
    assert spec.with_changes({"options.max_trials": 3}).options == {"max_trials": 3}
    assert spec.with_changes({"sampling.temperature": 0.7}).hash() != spec.hash()


def test_configs_written_before_specs_existed_still_build():
    run_config = {"agent": "tool-calling", "model": "scripted:x.json", "tools": ["agentzoo.examples.demo:add"],
                  "system": "s", "max_steps": 5, "action_format": "react", "stream": False}
    spec = AgentSpec.from_config(run_config)
    assert spec.max_steps == 5 and spec.action_format == "react" and spec.tools == ["agentzoo.examples.demo:add"]
    eval_config = {"eval": "k", "env": "gsm8k", "task": "gsm8k/0", "agent": "cot", "model": "oracle", "seed": 2}
    spec = AgentSpec.from_config(eval_config)
    assert spec.env.name == "gsm8k" and spec.env.task == "gsm8k/0" and spec.sampling.seed == 2


def test_code_named_by_a_journal_is_not_loaded_without_consent(tmp_path):
    marker = tmp_path / "imported"
    tools = tmp_path / "evil.py"
    tools.write_text(f"open({str(marker)!r}, 'w').write('ran')\ndef add(a: int) -> int:\n    return a\n")
    model = tmp_path / "script.json"
    model.write_text('["ok"]')
    spec = AgentSpec(agent="tool-calling", model=f"scripted:{model}", tools=[f"{tools}:add"])
    with pytest.raises(UntrustedCodeError, match="not loaded from a journal or bundle without your consent"):
        build(spec, trust=Trust())
    assert not marker.exists()
    # a replay builds stand-ins from the recorded schemas: nothing is imported
    recorded = build(spec).spec  # the user's own run: trusted, and it records the tools
    marker.unlink()
    replayed = build(recorded, trust=Trust(), replay=True)
    assert not marker.exists() and [t.name for t in replayed.agent.toolset] == ["add"]
    # consent: the name on the command line, or --trust
    assert build(spec, trust=Trust(frozenset({f"{tools}:add"}))).agent is not None
    assert build(spec, trust=Trust(everything=True)).agent is not None


def test_a_user_builder_gets_its_options_from_its_signature(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("from agentzoo import ToolCallingAgent\n"
                    "def build(model, tools=(), *, system=None, sampling=None, loud: bool = False, steps: int = 3):\n"
                    "    agent = ToolCallingAgent(model, tools, system=('LOUD ' if loud else '') + (system or ''),"
                    " max_steps=steps)\n"
                    "    return agent\n")
    name = f"{path}:build"
    kind = get_kind(name, load_user_code=Trust(everything=True).load)
    assert set(kind.options) == {"loud", "steps"}
    model = tmp_path / "script.json"
    model.write_text('["ok"]')
    built = build(AgentSpec(agent=name, model=f"scripted:{model}", options={"loud": True, "steps": "4"}))
    assert built.agent.system.startswith("LOUD") and built.agent.max_steps == 4
    with pytest.raises(ConfigError, match="unknown option 'volume'"):
        build(AgentSpec(agent=name, model=f"scripted:{model}", options={"volume": 11}))


def test_a_model_per_role_serves_the_scopes_of_that_role():
    from agentzoo.models.roles import RoleModels

    spec = AgentSpec(agent="tool-calling", model="scripted:a.json", models={"coder": "scripted:b.json"})
    built = build(spec, replay=True)
    model = built.agent.model
    assert isinstance(model, RoleModels)
    assert model.for_scope("team/coder#2/code#1").name.endswith("b.json")
    assert model.for_scope("team/tester").name.endswith("a.json")


def test_default_labels_show_options_compactly():
    from agentzoo.eval.experiment import default_label

    assert default_label("cot-sc", {"n": 3, "temperature": 0.5}) == "cot-sc[n=3,temperature=0.5]"
    assert default_label("mallm@debate", {"personas": ["a", "b"]}) == 'mallm@debate[personas=["a","b"]]'
    assert default_label("cot") == "cot"


def test_flag_values_parse_as_json_else_text():
    assert parse_value("3") == 3 and parse_value("true") is True and parse_value("[1, 2]") == [1, 2]
    assert parse_value("tests") == "tests" and parse_value("0.5") == 0.5
    with pytest.raises(ConfigError, match="'nope' is not one of the agents given"):
        agent_options(["nope.x=1"], ["cot"])


def test_stand_in_model_never_calls():
    assert isinstance(build(AgentSpec(agent="cot", model="openai:gpt-4o-mini"), replay=True).agent.model,
                      RecordedOnlyModel)
