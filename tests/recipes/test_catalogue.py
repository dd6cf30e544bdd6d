"""Every recipe describes itself the same way, so the one registry can read it: explicit, typed
`build` options with defaults (no catch-all), presets that are option values, a source for the
defaults that come from a paper or its code, and the deviations from the paper."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

from agentzoo.catalog import get_kind
from agentzoo.recipes import RECIPES

SPEC = {"model", "tools", "system", "sampling"}


def module(name):
    return importlib.import_module(RECIPES[name])


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_build_takes_explicit_typed_keyword_options_with_defaults(name):
    build = module(name).build
    params = list(inspect.signature(build).parameters.values())
    assert [p.name for p in params[:2]] == ["model", "tools"]
    hints = typing.get_type_hints(build)
    for p in params[2:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, (name, p.name)  # no *args, no **options
        assert p.default is not inspect.Parameter.empty, (name, p.name)
        assert p.name in hints, (name, p.name)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_presets_sources_and_deviations_name_real_options(name):
    mod = module(name)
    options = set(inspect.signature(mod.build).parameters) - SPEC
    summary = (mod.__doc__ or "").strip().split("\n")[0]
    assert summary, name
    sources = getattr(mod, "OPTION_SOURCES")
    assert sources and set(sources) <= options, (name, set(sources) - options)
    assert all(isinstance(text, str) and text for text in sources.values())
    deviations = getattr(mod, "DEVIATIONS")
    assert deviations and all(isinstance(d, str) and d for d in deviations), name
    presets = getattr(mod, "PRESETS", {})
    for preset, values in presets.items():
        assert set(values) <= options, (name, preset, set(values) - options)
    default = getattr(mod, "DEFAULT_PRESET", None)
    if default is not None:  # the default preset is what build does with no options
        defaults = {k: p.default for k, p in inspect.signature(mod.build).parameters.items()}
        assert default in presets and all(defaults[k] == v for k, v in presets[default].items()), name


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_the_registry_reads_every_preset_and_every_option(name):
    kind = get_kind(name)
    assert not kind.open_options, name
    for preset in kind.presets:
        kind.options_for(preset, {})  # every preset validates against the schema
    python_only = {o.name for o in kind.options.values() if o.python_only}
    # only objects and callables are Python only; numbers, names and lists come from the command line
    assert python_only <= {"participants", "approval", "custom_evaluator", "retriever", "stop"}, (name, python_only)


def test_the_named_variants_of_the_brief_are_addressable():
    assert {"few-shot", "zero-shot"} <= set(get_kind("cot").presets) and "n" in get_kind("cot-sc").options
    assert get_kind("reflexion").presets == {"tests": {"evaluator": "tests"}, "judge": {"evaluator": "judge"}}
    assert {"general", "code"} <= set(get_kind("dylan").presets)
    assert get_kind("agentcoder").default_preset == "paper" and "code" in get_kind("agentcoder").presets
    assert get_kind("agentless").default_preset == "v1.5" and "v1" in get_kind("agentless").presets
    assert set(get_kind("mallm").presets) == {"memory", "report", "relay", "debate"}
    for name in ("reflexion", "dylan", "cot", "cot-sc"):
        assert get_kind(name).takes_task_kind, name
