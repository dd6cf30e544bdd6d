"""One builder: an `AgentSpec` becomes an agent, for the command line, the eval harness and Python.

    built = build(AgentSpec(agent="reflexion", preset="tests", model="openai:gpt-4o-mini"))
    result = await agentzoo.run(built.agent, task, config=built.spec.to_config(), budgets=built.budgets)

Every field of the spec is applied or refused with a message that names it: a sandbox setting for
an agent that runs no code, `max_steps` for a recipe with no step limit, an option the recipe does
not have. Code is loaded only with consent (`Trust`): what the user names on the command line or
in an experiment file is trusted; what a journal or a bundle names is not, unless the user says so.
A replay loads no code at all: its tools are stand-ins built from the schemas the spec recorded.

MCP servers (`spec.mcp`) must be running before their tools can be listed, so a spec that names
some is built with `await build_async(spec)`, which starts them; `Built.aclose()` stops them. A
server named by a journal is a command to run (or an address to send the run's tool calls to), so it
needs the same consent as code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._loading import load_callable
from .catalog import MAX_STEPS_OPTION, AgentKind, get_kind
from .errors import ConfigError, UntrustedCodeError
from .runtime.spec import AgentSpec, EnvRef, ToolRecord

ORACLE = "oracle"


@dataclass(frozen=True)
class Trust:
    """Which code a build may import: agentzoo's own always; other import strings if named here."""

    names: frozenset[str] = frozenset()
    everything: bool = False
    """The user said to trust whatever the spec names (`--trust`, or a spec the user wrote)."""

    def allows(self, name: str) -> bool:
        module = name.rpartition(":")[0]
        return self.everything or name in self.names or module == "agentzoo" or module.startswith("agentzoo.")

    def check_servers(self, servers: Sequence[Any]) -> None:
        """Refuse MCP servers (`McpServerSpec`s) the user has not consented to start or connect to."""
        for server in servers:
            if not (self.everything or server.server in self.names):
                how = "connects to" if server.server.startswith(("http://", "https://")) else "runs the command"
                raise UntrustedCodeError(
                    f"the run names the MCP server {server.server!r}: starting it {how} named by a journal or "
                    "bundle, which is not done without your consent: pass --trust (or put it in $AGENTZOO_TRUST)")

    def check_remote_agents(self, remotes: Sequence[Any]) -> None:
        """Refuse remote A2A agents (`RemoteAgentSpec`s) the user has not consented to send tasks to."""
        for remote in remotes:
            if not (self.everything or remote.url in self.names):
                raise UntrustedCodeError(
                    f"the run names the remote A2A agent {remote.url!r}: sending it tasks named by a journal or "
                    "bundle is not done without your consent: pass --trust (or put the URL in $AGENTZOO_TRUST)")

    def load(self, name: str, what: str) -> Any:
        if not self.allows(name):
            raise UntrustedCodeError(
                f"the run names {what} {name!r}, which is code from outside agentzoo; it is not loaded from a "
                f"journal or bundle without your consent: name it on the command line, or pass --trust")
        return load_callable(name, what)


TRUST_ALL = Trust(everything=True)


@dataclass
class Built:
    """An agent made from a spec, and what running it needs."""

    agent: Any
    spec: AgentSpec
    """The spec as run: options normalised, `recorded_tools` filled. Store `spec.to_config()`."""
    kind: AgentKind
    episode: Any = None
    """The environment episode the agent acts in (when the spec names one)."""
    models: list[Any] = field(default_factory=list)
    mcp: Any = None
    """The MCP servers started for it (`agentzoo.net.mcp_client.McpServers`), stopped by `aclose()`."""

    @property
    def budgets(self):
        return self.spec.budget_map()

    async def aclose(self) -> None:
        """Close the models' connections (they belong to the event loop that used them), stop the MCP servers."""
        try:
            for model in self.models:
                close = getattr(model, "aclose", None)
                if close is not None:
                    await close()
        finally:
            if self.mcp is not None:
                await self.mcp.aclose()


async def build_async(spec: AgentSpec, *, trust: Trust = TRUST_ALL, replay: bool = False, **options: Any) -> Built:
    """`build`, with the MCP servers the spec names started first and its remote A2A agents' cards read (with
    consent); `Built.aclose()` stops the servers. A replay starts and reads nothing: it needs only the tool
    schemas the spec recorded."""
    if replay or not (spec.mcp or spec.a2a):
        return build(spec, trust=trust, replay=replay, **options)
    trust.check_servers(spec.mcp)
    trust.check_remote_agents(spec.a2a)
    servers = None
    if spec.mcp:
        from .net.mcp_client import McpServers

        servers = await McpServers(spec.mcp).start()
    try:
        remote = [await _remote_tool(r, discover=True) for r in spec.a2a]
        built = build(spec, trust=trust, mcp=servers, remote=remote, **options)
    except BaseException:
        if servers is not None:
            await servers.aclose()
        raise
    built.mcp = servers
    return built


def build(spec: AgentSpec, *, trust: Trust = TRUST_ALL, replay: bool = False, episode: Any = None,
          env: Any = None, model: Any = None, task_kind: str | None = None, mcp: Any = None,
          remote: Sequence[Any] | None = None) -> Built:
    """The agent `spec` describes.

    `replay`: the model is a stand-in that cannot be called and the tools are stand-ins from
    `spec.recorded_tools`, so nothing is imported or performed. `episode` (with `env`) is the
    environment episode the eval made for this sample; without it, one is opened from `spec.env`.
    `model` overrides the model the spec names (the harness's shared or oracle model). `mcp` holds the
    running MCP servers the spec names (`build_async` starts them); `remote` the tools of its remote A2A agents
    (`build_async` names and describes them from their cards; without it they are made from the spec alone).
    """
    agent_name = spec.agent
    kind = get_kind(agent_name, load_user_code=trust.load)
    _check_fields(spec, kind)
    options = kind.options_for(spec.preset, spec.options)
    if replay:
        episode, env = None, None
    elif spec.env is not None and episode is None:
        env, episode = open_episode(spec.env, trust)
    if task_kind is None and env is not None:
        task_kind = getattr(env, "answer_kind", None)

    models: list[Any] = []
    if model is None:
        model = make_model(spec, trust=trust, replay=replay, env=env, episode=episode, models=models)
    tools = _tools(spec, trust, replay, episode, mcp, remote)
    recorded = spec.recorded_tools if replay and spec.recorded_tools is not None else _records(tools)
    system = spec.system
    if episode is not None and getattr(episode, "system", None) and system is None:
        system = episode.system
    spec = spec.model_copy(update={"options": options, "recorded_tools": recorded, "system": system})
    sampling = spec.sampling.as_request()
    agent = _make(kind, spec, model, tools, system, sampling, options, task_kind, episode)
    try:  # so that `agentzoo.run(built.agent, task)` stores the spec without being told
        agent.agentzoo_spec = spec
    except AttributeError:  # an agent class with __slots__: pass config=built.spec.to_config() yourself
        pass
    return Built(agent, spec, kind, episode, models)


def _check_fields(spec: AgentSpec, kind: AgentKind) -> None:
    """Refuse, by name, every field this kind would not apply."""
    builtin = kind.builder is None
    if spec.action_format is not None:
        formats = {"tool-calling": ("tool_calls", "react"), "codeact": ("code", "json", "text")}.get(kind.name)
        if formats is None:
            raise ConfigError(f"action_format (--format / --action-mode) applies to tool-calling and codeact, not to "
                              f"{kind.name!r}, which has its own action format")
        if spec.action_format not in formats:
            raise ConfigError(f"action_format {spec.action_format!r} is not one of {kind.name}'s: {', '.join(formats)}")
    if spec.tool_mode not in (None, "native") and (kind.name == "codeact" or spec.action_format == "react"):
        raise ConfigError(f"tool_mode {spec.tool_mode!r} (--tool-mode) turns a model's output into native tool calls; "
                          f"{kind.name} with action format {spec.action_format or 'code'!r} sends the model no tools "
                          "(its actions are text), so it would change nothing: drop one of the two")
    _check_sampling(spec, kind)
    if not spec.sandbox.is_default and not kind.runs_code:
        raise ConfigError(f"sandbox settings (--tier, --unsafe, --sandbox-*) apply to agents that run code; "
                          f"{kind.name!r} runs none")
    if spec.max_steps is not None and not builtin:
        option = MAX_STEPS_OPTION.get(kind.name) or ("max_steps" if "max_steps" in kind.options else None)
        if option is None or option not in kind.options:
            raise ConfigError(f"max_steps (--max-steps) does not apply to {kind.name!r}: it has no step, turn or round "
                              f"limit; set one of its options instead ({kind.valid_list()})")
        if option in spec.options:
            raise ConfigError(f"{kind.name}: max_steps and the option {option!r} both set the same limit; give one")
    if spec.preset is not None and not kind.presets:
        raise ConfigError(f"{kind.name}@{spec.preset}: {kind.name!r} has no presets")


def _check_sampling(spec: AgentSpec, kind: AgentKind) -> None:
    """A recipe that sets a sampling value per role from the paper (cot-sc's T=0.7, Agentless's token caps)
    would override `--temperature` / `--max-tokens` without saying so: refuse, naming its own options."""
    for field, flag in (("temperature", "--temperature"), ("max_tokens", "--max-tokens")):
        if getattr(spec.sampling, field) is None or kind.builder is None:
            continue
        own = [name for name in kind.options if field in name]
        if own:
            raise ConfigError(f"sampling.{field} ({flag}) would be overridden by {kind.name}'s own per-role "
                              f"setting{'s' if len(own) > 1 else ''} ({', '.join(own)}, from the paper): set "
                              f"{'them' if len(own) > 1 else 'it'} with --agent-opt instead, e.g. --agent-opt "
                              f"{own[0]}=...")


def _make(kind: AgentKind, spec: AgentSpec, model: Any, tools: list[Any], system: str | None,
          sampling: dict[str, Any], options: dict[str, Any], task_kind: str | None, episode: Any = None) -> Any:
    limits = sandbox_limits(spec)
    if kind.name == "tool-calling":
        from .agents.tool_calling import ToolCallingAgent

        return ToolCallingAgent(model, tools, system=system, max_steps=spec.max_steps or 20,
                                action_format=spec.action_format or "tool_calls", sampling=sampling, **options)
    if kind.name == "codeact":
        from .agents.codeact import CodeActAgent

        return CodeActAgent(model, tools, action_mode=spec.action_format or "code", system=system,
                            max_turns=spec.max_steps or 10, tier=spec.sandbox.tier, limits=limits,
                            allow_unsafe=spec.sandbox.allow_unsafe, sampling=sampling, **options)
    extra: dict[str, Any] = {}
    if kind.runs_code:
        extra.update({k: v for k, v in (("tier", spec.sandbox.tier), ("allow_unsafe", spec.sandbox.allow_unsafe),
                                        ("limits", limits)) if k in kind.accepts and v is not None})
    if kind.takes_task_kind and task_kind is not None and "task_kind" not in options:
        extra["task_kind"] = task_kind
    if kind.takes_episode and episode is not None:
        extra["episode"] = episode
    if kind.takes_preset and (spec.preset or kind.default_preset):
        extra["preset"] = spec.preset or kind.default_preset
    if spec.max_steps is not None:
        extra[MAX_STEPS_OPTION.get(kind.name, "max_steps")] = spec.max_steps
    return kind.builder(model, tools, system=system, sampling=sampling or None, **options, **extra)  # type: ignore[misc]


def sandbox_limits(spec: AgentSpec) -> Any:
    """The sandbox `Limits` the spec asks for, or None for the defaults."""
    if spec.sandbox.wall_seconds is None and spec.sandbox.memory_mb is None:
        return None
    from .sandbox import Limits

    changes = {k: v for k, v in (("wall_seconds", spec.sandbox.wall_seconds), ("memory_mb", spec.sandbox.memory_mb))
               if v is not None}
    return Limits(**changes)


# --- models -----------------------------------------------------------------------------------


def make_model(spec: AgentSpec, *, trust: Trust = TRUST_ALL, replay: bool = False, env: Any = None,
               episode: Any = None, models: list[Any] | None = None) -> Any:
    """The spec's model (and its models per role). Models that hold connections go to `models`."""
    made = models if models is not None else []
    default = _one_model(spec.model, spec, trust, replay, env, episode, made)
    if not spec.models:
        return default
    from .models.roles import RoleModels

    roles = {role: _one_model(text, spec, trust, replay, env, episode, made) for role, text in spec.models.items()}
    return RoleModels(default, roles)


def _one_model(text: str, spec: AgentSpec, trust: Trust, replay: bool, env: Any, episode: Any,
               made: list[Any]) -> Any:
    from .models.registry import RecordedOnlyModel, model_name_of, parse_model

    if replay:
        if text == ORACLE:
            return RecordedOnlyModel(ORACLE)
        from .models.tool_modes import default_tool_mode

        return RecordedOnlyModel(model_name_of(text), tool_mode=spec.tool_mode or default_tool_mode(text))
    if "***" in text:
        raise ConfigError(f"model {text!r} was stored with its credentials masked; give the model string again "
                          "(resume and fork: --model)")
    if text == ORACLE:
        if env is None or episode is None:
            raise ConfigError("model 'oracle' answers from an environment's gold solutions: it needs the run's "
                              "environment (an eval run), and this spec names none")
        return oracle_model(env, episode.task, oracle_agent(spec))
    if text.startswith("scripted:") and ".py:" in text:
        trust.load(text.partition(":")[2], "model script")  # consent first; parse_model loads it
    model = parse_model(text, **model_kwargs(text, spec))
    made.append(model)
    return model


def model_kwargs(text: str, spec: AgentSpec) -> dict[str, Any]:
    """What `parse_model` is given for the model `text` under `spec` (here and for an eval's samples): the tool
    mode, and for a model that is not a script the streaming, call timeout and client settings (`model_options`,
    checked for that kind of model). The oracle takes none."""
    from .models.registry import model_options

    if text == ORACLE:
        return {}
    options: dict[str, Any] = {}
    if spec.tool_mode is not None:
        options["tool_mode"] = spec.tool_mode
    if not text.startswith("scripted:"):
        if spec.stream:
            options["stream"] = True
        if spec.call_timeout is not None:
            options["call_timeout"] = spec.call_timeout
        options.update(model_options(text, spec.model_options))
    return options


def oracle_agent(spec: AgentSpec) -> str:
    """The agent kind the oracle answers for: ReAct text is its own reply shape."""
    return "react" if spec.agent == "tool-calling" and spec.action_format == "react" else spec.agent


def oracle_model(env: Any, task: Any, agent: str) -> Any:
    """A model that answers from the task's gold solution, in the shape the agent reads (for a recipe,
    a player of every one of its roles: `agentzoo.recipes._oracle`)."""
    from .recipes._oracle import oracle_model as play_from_gold

    return play_from_gold(agent, env, task)


# --- tools and environments --------------------------------------------------------------------


def _tools(spec: AgentSpec, trust: Trust, replay: bool, episode: Any, mcp: Any = None,
           remote: Sequence[Any] | None = None) -> list[Any]:
    if replay and spec.recorded_tools is not None:
        from .tools.stand_in import StandInTool

        return [StandInTool(t.name, t.description, t.parameters, t.touches, t.returns) for t in spec.recorded_tools]
    tools = [trust.load(name, "tool") for name in spec.tools]
    if spec.mcp:
        if mcp is None:
            raise ConfigError(f"the spec names MCP servers ({', '.join(s.server for s in spec.mcp)}), which must be "
                              "running before their tools can be listed: build it with `await build_async(spec)`")
        tools += mcp.tools
    if spec.a2a:
        if remote is None:
            trust.check_remote_agents(spec.a2a)
            remote = [_remote_tool(r, discover=False) for r in spec.a2a]
        tools += remote
    if episode is not None:
        tools = [*episode.tools, *tools]
    return tools


def _remote_tool(remote: Any, *, discover: bool) -> Any:
    """The `A2ATool` of a `RemoteAgentSpec`; with `discover`, an awaitable that reads the card for what the spec
    leaves out (the name, the description)."""
    import os

    from .net.a2a_client import A2ATool

    options: dict[str, Any] = {"api_key": os.environ.get(remote.api_key_env) if remote.api_key_env else None}
    if remote.timeout is not None:
        options["timeout"] = remote.timeout
    if discover and (remote.name is None or remote.description is None):
        async def discovered() -> Any:
            tool = await A2ATool.discover(remote.url, name=remote.name, **options)
            tool.description = remote.description or tool.description
            return tool
        return discovered()
    tool = A2ATool(remote.url, name=remote.name or "remote_agent", description=remote.description or "", **options)

    async def ready() -> Any:
        return tool
    return ready() if discover else tool


def _records(tools: Sequence[Any]) -> list[ToolRecord]:
    from .tools import ToolSet

    toolset = ToolSet(tools)
    records = []
    for tool, spec in zip(toolset, toolset.specs(), strict=True):
        fn = spec.get("function", spec)
        records.append(ToolRecord(name=fn["name"], description=fn.get("description") or "",
                                  parameters=fn.get("parameters") or {}, touches=sorted(tool.touches),
                                  returns=getattr(tool, "returns", None)))
    return records


def load_env(name: str, tasks_file: str | None = None, options: dict[str, Any] | None = None,
             trust: Trust = TRUST_ALL) -> Any:
    """A registered environment by name, or a user's `module:Class` (checked against the protocol)."""
    from .envs.registry import ENVIRONMENTS, get_env

    if name in ENVIRONMENTS or ":" not in name:
        return get_env(name, tasks_file, **(options or {}))
    from .protocols import Environment

    factory = trust.load(name, "environment")
    try:
        env = factory(tasks_file=tasks_file, **(options or {})) if tasks_file else factory(**(options or {}))
    except TypeError as exc:
        raise ConfigError(f"environment {name!r} could not be made: {exc}") from None
    missing = [m for m in ("name", "tasks", "episode", "score", "oracle") if not hasattr(env, m)]
    if missing or not isinstance(env, Environment):
        raise ConfigError(f"environment {name!r} does not follow the Environment protocol "
                          f"(agentzoo.protocols.Environment): missing {', '.join(missing) or 'a callable member'}")
    return env


def open_episode(ref: EnvRef, trust: Trust = TRUST_ALL) -> tuple[Any, Any]:
    """The environment a spec names and a fresh episode of its task."""
    env = load_env(ref.name, ref.tasks_file, ref.options, trust)
    task = next((t for t in env.tasks() if t.id == ref.task), None)
    if task is None:
        raise ConfigError(f"environment {ref.name!r} has no task {ref.task!r}")
    return env, env.episode(task)
