"""The agent spec: one typed, validated description of an agent, stored as a run's config.

A spec says everything needed to build the same agent again: which agent or recipe (and its
preset and options), the model (and a model per role), the action format, the tools (as import
strings, plus the schemas they had, so that a replay needs no import), the environment episode
an eval ran it in, the system prompt, sampling, sandbox, step limit and budgets. The command
line, experiment files, the eval harness and Python all make one, and `agentzoo.builder` turns it
into an agent; the journal stores it (`RunInfo.config`), so `replay`, `resume`, `fork` and bundles
rebuild any run from it.

The spec is data: it names code but never holds or runs it. Loading the code a spec names is the
builder's job, and code named by a journal is loaded only with the user's consent.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import _json
from ..errors import ConfigError, did_you_mean
from .budgets import Budget

SPEC_VERSION = 1


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sampling(_Data):
    """Sampling settings sent with every model request the agent makes (None: the provider's default)."""

    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    """Cap on the tokens of each reply."""
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = None

    def as_request(self) -> dict[str, Any]:
        """The fields that are set, as `ModelRequest` keyword arguments."""
        return self.model_dump(exclude_none=True)


class SandboxSpec(_Data):
    """Where model-written code runs (agents and recipes that run code)."""

    tier: Literal["auto", "bwrap", "landlock", "unsafe"] = "auto"
    allow_unsafe: bool = False
    """Run code with resource limits only when no isolating tier works (`--unsafe`)."""
    wall_seconds: float | None = Field(None, gt=0)
    """Wall-clock limit of one action (None: the sandbox default)."""
    memory_mb: int | None = Field(None, ge=16)

    @property
    def is_default(self) -> bool:
        return self == SandboxSpec()


class BudgetSpec(_Data):
    """Limits of a run or of one scope (a role); None means no limit."""

    tokens: int | None = Field(None, ge=0)
    usd: float | None = Field(None, ge=0)
    model_calls: int | None = Field(None, ge=0)
    wall_seconds: float | None = Field(None, gt=0)

    def to_budget(self) -> Budget:
        return Budget(tokens=self.tokens, usd=self.usd, model_calls=self.model_calls,
                      wall_seconds=self.wall_seconds)


class EnvRef(_Data):
    """The environment episode a run acted in (eval runs): its tools come from here."""

    name: str
    """A registered environment name, or `module:Class` / `file.py:Class` for a user's."""
    task: str
    """The task's id within the environment."""
    tasks_file: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options the environment was made with (e.g. `user_model` for tau-*)."""


class ToolRecord(_Data):
    """A tool as the agent saw it when the run started: enough to stand in for it in a replay."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    touches: list[str] = Field(default_factory=list)
    returns: str | None = None
    """The return annotation's text (code-mode prompts show it)."""


class McpServerSpec(_Data):
    """An MCP server whose tools the agent gets (`agentzoo.net.mcp_client`). Written as its command line or
    URL alone (`"python -m mcp_server_time"`, `"http://127.0.0.1:8000/mcp"`), or as a mapping of these fields."""

    server: str
    """A command line that starts the server on stdio (split as a shell would, never run by one), or an
    `http(s)://` URL of a streamable HTTP server."""
    prefix: str | None = None
    """Put before each tool's name, with `_` (`git` → `git_git_status`): to tell two servers' tools apart."""
    timeout: float | None = Field(None, gt=0)
    """Seconds one call may take (None: 60)."""
    env: list[str] = Field(default_factory=list)
    """Names of environment variables a stdio server gets from ours (besides PATH, HOME and the like); the
    values are read when it starts and never stored."""
    max_message_bytes: int | None = Field(None, ge=1024)
    """The largest answer read from the server (None: 8 MiB); a larger one fails the call, saying its size."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"server": value} if isinstance(value, str) else value

    @field_validator("server")
    @classmethod
    def _server_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a command line or an http(s):// URL")
        return value.strip()


class RemoteAgentSpec(_Data):
    """A remote A2A agent the agent may call as a tool taking `{"task"}` (`agentzoo.net.a2a_client.A2ATool`).
    Written as its URL alone (`"http://127.0.0.1:8001/"`), or as a mapping of these fields."""

    url: str
    """The agent's A2A endpoint (its card is at `/.well-known/agent-card.json` under it)."""
    name: str | None = None
    """The tool's name (None: the name on the agent's card)."""
    description: str | None = None
    """What the model is told the remote agent does (None: its card's description)."""
    api_key_env: str | None = None
    """The environment variable that holds the bearer key the remote wants; the key itself is never stored."""
    timeout: float | None = Field(None, gt=0)
    """Seconds one remote task may take (None: 600)."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL of an A2A agent")
        return value.strip()


def plain_settings(value: dict[str, Any]) -> dict[str, Any]:
    """Model options are single values; which keys and types a model takes is checked when it is made
    (`models.registry.model_options`), since that depends on the model."""
    for key, setting in value.items():
        if not (setting is None or isinstance(setting, (bool, int, float, str))):
            raise ValueError(f"{key}: a setting is one value (true or false, a number, a text or null), "
                             f"not {type(setting).__name__}")
    return value


ModelOptions = Annotated[dict[str, Any], AfterValidator(plain_settings)]
"""Settings of a model's client, as specs, experiment files and synthesis files take them."""


class AgentSpec(_Data):
    """One agent, fully described. Validated on creation; `to_config()` is what the journal stores."""

    version: Literal[1] = SPEC_VERSION
    agent: str = "tool-calling"
    """`tool-calling`, `codeact`, a recipe name (`agentzoo recipes`), or a user's `module:build`."""
    preset: str | None = None
    """A named variant of the recipe (`agentcoder@code`)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Recipe options, validated against the recipe's schema by the builder."""
    model: str
    """A model string (`openai:gpt-4o-mini`, `openai-compatible:NAME@URL`, `scripted:FILE`, `oracle`)."""
    models: dict[str, str] = Field(default_factory=dict)
    """A model per role: a role name (a scope segment such as `coder`) to a model string."""
    action_format: str | None = None
    """tool-calling: `tool_calls` or `react`; codeact: `code`, `json` or `text` (None: the default)."""
    tool_mode: Literal["native", "json", "react"] | None = None
    """How tool calls travel to and from the model (`models.tool_modes`): `native` OpenAI tools, `json`
    a schema-constrained choice of a tool call or the answer, `react` text. None: the model's default
    (`json` for `local:` models, else `native`). Applies to every model of the spec, roles included."""
    tools: list[str] = Field(default_factory=list)
    """Tools as `package.module:function` or `file.py:function`."""
    mcp: list[McpServerSpec] = Field(default_factory=list)
    """MCP servers whose tools (and resources) the agent gets; started with the run, stopped at its end.
    A replay needs none of them: their tools' schemas are in `recorded_tools`."""
    a2a: list[RemoteAgentSpec] = Field(default_factory=list)
    """Remote A2A agents the agent may call as tools; each task sent to one is a journaled effect (a replay
    needs none of them)."""
    recorded_tools: list[ToolRecord] | None = None
    """Filled when a run starts: the schemas of every tool the agent had (from `tools` and `env`)."""
    env: EnvRef | None = None
    system: str | None = None
    max_steps: int | None = Field(None, ge=1)
    """The agent's step (turn) limit; for a recipe, mapped to its own round or turn limit."""
    sampling: Sampling = Field(default_factory=Sampling)
    sandbox: SandboxSpec = Field(default_factory=SandboxSpec)
    budgets: BudgetSpec | None = None
    """Limits of the whole run."""
    role_budgets: dict[str, BudgetSpec] = Field(default_factory=dict)
    """Limits per scope path (e.g. `team/coder`): everything below that scope counts."""
    stream: bool = False
    """Show the reply's tokens as they come (`agentzoo run --stream`)."""
    call_timeout: float | None = Field(None, gt=0)
    """Seconds one model call may take before it is cut (None: the backend's default)."""
    model_options: ModelOptions = Field(default_factory=dict)
    """Settings of the model's client (`--model-opt KEY=VALUE`), for every model of the spec that takes
    them, roles included: for `openai` and `openai-compatible` models `stream` (read replies as they are
    written: on by default), `connect_timeout`, `first_byte_timeout`, `idle_timeout`, `max_concurrency`,
    `max_response_bytes` and `max_tool_calls` (see `OpenAICompatible`); for `local` ones `stream`, `ctx`,
    `threads`, `seed`, `max_tokens` and `cache`. Checked when the model is made; a script and the oracle
    take none."""

    @model_validator(mode="after")
    def _streams_to_show(self) -> AgentSpec:
        if self.stream and self.model_options.get("stream") is False:
            raise ValueError("stream (--stream: show the tokens as they come) needs the reply streamed, and "
                             "model_options.stream is false (--model-opt stream=false): give one of the two")
        return self

    @field_validator("agent")
    @classmethod
    def _agent_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name an agent, a recipe or module:build")
        return value.strip()

    @field_validator("model")
    @classmethod
    def _model_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a model")
        return value.strip()

    # --- what the journal stores -------------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        """Plain JSON without defaults (small, and stable when new fields with defaults appear)."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        data["version"] = self.version
        return data

    def hash(self) -> str:
        """A short hash of the spec, ignoring `recorded_tools` (a record of the run, not a choice)."""
        data = self.to_config()
        data.pop("recorded_tools", None)
        return _json.request_hash(data)[:16]

    @classmethod
    def from_config(cls, config: dict[str, Any], *, source: str = "the run config") -> AgentSpec:
        """The spec a run config holds; configs written before specs existed are converted."""
        if not isinstance(config, dict):
            raise ConfigError(f"{source} is not a JSON object")
        if not config:
            raise ConfigError(f"{source} is empty: the run was started from Python with an agent made by hand, so "
                              "nothing says how to build it again. Replay it from Python with the same agent "
                              "(agentzoo.replay(agent, run_id, journal=...)), or make agents with "
                              "agentzoo.builder.build(AgentSpec(...)), whose runs rebuild themselves")
        if "version" not in config:
            config = _from_legacy(config)
        try:
            return cls.model_validate(config)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {describe_errors(exc, cls)}") from None

    def budget_map(self) -> dict[str, Budget] | None:
        """Budgets by scope (`""`: the run), as the gateway takes them; None when there are none."""
        budgets = {scope: b.to_budget() for scope, b in self.role_budgets.items()}
        if self.budgets is not None:
            budgets[""] = self.budgets.to_budget()
        return budgets or None

    def with_changes(self, changes: dict[str, Any]) -> AgentSpec:
        """A copy with dotted-path changes applied (`sampling.temperature`, `options.n`), re-validated."""
        data = self.model_dump(mode="json")
        for path, value in changes.items():
            set_path(data, path, value)
        try:
            return type(self).model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, type(self))) from None


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, creating dicts on the way; a path through a non-object is an error."""
    keys = path.split(".")
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {path!r}: {'.'.join(keys[:i + 1])!r} is not an object")
        node = child
    node[keys[-1]] = value


def describe_errors(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Pydantic's errors as `key: what is wrong` lines, the key as a dotted path. With the `model` validated,
    an unknown key also says the keys its place takes (and the one it is closest to: a typo)."""
    lines = []
    errors = exc.errors()
    # A value that may be a mapping or a plain string (`EnvEntry | str`) fails both ways; the string
    # branch's complaint only hides the real one.
    real = [e for e in errors if not (e["type"] == "string_type" and e["loc"] and e["loc"][-1] == "str")]
    for err in real or errors:
        where = ".".join(str(p) for p in err["loc"] if p not in ("EnvEntry", "str")) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = unknown_key(model, err["loc"])
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


def first_error(exc: ValidationError) -> Any:
    """The error to report of several: an unknown key first (a misspelt `models:` is also a missing one, and
    the misspelling is what to fix), else the first."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def unknown_key(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    """What to say of an unknown key at `loc` of `model`: `unknown key; did you mean 'temperature'? (keys: …)`,
    or only `unknown key` when the place is not a model's (a free mapping such as `options`) or no model is
    given."""
    place: Any = model
    for part in loc[:-1]:
        place = _inside(place, part)
    found = next((t for t in _members(place) if isinstance(t, type) and issubclass(t, BaseModel)), None)
    if found is None:
        return "unknown key"
    keys = sorted(found.model_fields)
    return f"unknown key{did_you_mean(str(loc[-1]), keys)} (keys: {', '.join(keys)})"


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of a union (`X | None`), or the annotation itself."""
    return typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)


def _inside(annotation: Any, part: Any) -> Any:
    """The annotation of what `part` (a field name, a list index, a mapping's key) reaches inside `annotation`."""
    for member in _members(annotation):
        if getattr(member, "__name__", None) == part:  # a union's member, as pydantic names it in a path
            return member
        if isinstance(member, type) and issubclass(member, BaseModel):
            if isinstance(part, str) and part in member.model_fields:
                return member.model_fields[part].annotation
            continue
        origin, args = typing.get_origin(member), typing.get_args(member)
        if origin in (list, tuple) and isinstance(part, int) and args:
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _from_legacy(config: dict[str, Any]) -> dict[str, Any]:
    """Run configs of agentzoo before specs: `run`'s dict and the eval's sample dict."""
    out: dict[str, Any] = {"version": SPEC_VERSION, "model": config.get("model") or ""}
    agent = config.get("agent", "tool-calling")
    out["agent"] = agent
    if "eval" in config and "env" in config:
        out["env"] = {"name": config["env"], "task": str(config.get("task", ""))}
        if config.get("seed") is not None:
            out["sampling"] = {"seed": config["seed"]}
    for key in ("tools", "system", "stream", "options"):
        if config.get(key) is not None:
            out[key] = config[key]
    if agent == "codeact":
        out["action_format"] = config.get("action_mode")
        out["max_steps"] = config.get("max_turns")
        out["sandbox"] = {"tier": config.get("tier", "auto"), "allow_unsafe": bool(config.get("allow_unsafe"))}
    else:
        out["action_format"] = config.get("action_format")
        out["max_steps"] = config.get("max_steps")
    return {k: v for k, v in out.items() if v is not None}
