"""AgentTorch LLM archetypes (`agenttorch`, #54): a population as arrays, one prompt per attribute group per step.

Chopra et al. 2024, "On the limits of agency in agent-based models" (arXiv:2409.10568); checked against
AgentTorch/AgentTorch (`agent_torch/core/llm/{behavior,archetype,template}.py`, `models/covid`,
`models/macro_economics`). Millions of agents cannot each ask an LLM every step; AgentTorch groups them by
the attributes a prompt mentions (age group, gender, occupation, borough, …: the template), asks once per
group per step, `n_arch` times (archetype replicates), averages the replies and broadcasts each group's value
to all its members. A simple world is stepped with the resulting behaviour and compared with a heuristic
population.

Here (numpy, CPU; the parts are small modules beside this page):
- `population` holds the agents as int8 code arrays drawn from a scenario's shares; `grouping` finds the
  distinct combinations of the template once (a bincount over a mixed-radix key) and broadcasts a value per
  group with one indexing read;
- `archetypes` asks the model per group and replicate (`asking`: a strict JSON-schema reply holding one
  probability, a bad reply sent back with what was wrong, then a typed error naming it), or applies the
  scenario's fixed heuristic rule per group (`heuristic=True`: no model is asked);
- `epidemic` (SEIR, a week a step, days as sub-steps: staying home lowers contacts) and `labour` (willingness to
  work → employment and unemployment, four weeks a step) are the worlds; `simulation` runs the steps on a
  `SimClock`, every random draw from one journaled seed.

The task is a scenario of the `populations` environment (a shipped name such as `riverton-epidemic`, or a
scenario JSON object); the answer is the run's closing record (JSON: the curves, their summary,
`simulated_hours`), which that environment scores against the scenario's reference series.
`intervention="lockdown"` (or `"lockdown@3"`) announces one of the scenario's interventions at its step (or
at the step given): from then on the prompts carry the announcement, the heuristic rule its shift, and the
world its effect — so `agentzoo fork RUN --agent-opt intervention=lockdown@3` diverges at step 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .archetypes import LLMArchetypes
from .simulation import AgentTorch

__all__ = ["ACTS_IN", "ANSWER_KINDS", "AgentTorch", "build"]

ANSWER_KINDS = ("simulation",)
"""The closing record of the run, scored by the scenario (`agentzoo.envs.populations`)."""
ACTS_IN = ("populations",)
N_ARCH = 7           # the AgentTorch docs and examples: Archetype(n_arch=7) (the class's own default is 1)
TEMPERATURE = 0.7    # ours: replicates are samples only if the model samples (DspyLLM sets 0.0, so its
                     # replicates agree unless their memories differ); each replicate also gets its own seed
MAX_TOKENS = 48      # ours: the reply is one short JSON object (a small model writes 16 decimals: room for them)
HISTORY = 0          # ours: no past exchanges (behavior.py sends last_k=12 per archetype; small models have
                     # short contexts, so it is an option)
RETRIES = 1          # ours: one re-ask showing the bad reply (AgentTorch retries a failing batch up to 10 times
                     # in its older Behavior, and reads an unparsable reply as 0.0)
CONCURRENCY = 4      # ours: model calls in flight at once within a step
SEED = 0             # ours: the base of the replicates' request seeds when the eval gives none

PRESETS: dict[str, dict[str, Any]] = {
    "agenttorch": {},                                # the constants above
    "small": {"n_arch": 1, "population": 2000},      # ours: the local model on a shared CPU in minutes
}
DEFAULT_PRESET = "agenttorch"
OPTION_SOURCES: dict[str, str] = {
    "dynamics": "which world: epidemic (models/covid) or labour (models/macro_economics); the scenario decides, "
                "this only checks it (and picks the default scenario for an empty task)",
    "population": "agents to simulate (default: the scenario's); AgentTorch simulates NYC's 8.4M",
    "template": "the attributes that group agents (default: the scenario's); Template.grouping_logic",
    "n_arch": "archetype replicates per group per step, averaged: Behavior.sample; Archetype(n_arch=7) in the "
              "AgentTorch docs",
    "steps": "steps to run (default: the scenario's); models/covid: a day a step (we step weeks of 7 days), "
             "models/macro_economics: a month a step",
    "heuristic": "a heuristic population: the scenario's fixed rule per group, no model (AgentTorch's "
                 "EXECUTION_MODE heuristic draws random values instead)",
    "intervention": "ours: NAME or NAME@STEP, one of the scenario's interventions announced at its step",
    "history": "past exchanges each archetype sees; behavior.py sends last_k=12 (0 is ours)",
    "concurrency": "ours: model calls in flight at once within a step",
    "retries": "ours: re-asks after a reply that is not the JSON object; AgentTorch reads such a reply as 0.0",
    "temperature": "ours: 0.7 so that replicates are samples; DspyLLM uses 0.0",
    "max_tokens": "ours: the reply is one short JSON object",
}
DEVIATIONS: list[str] = [
    "numpy arrays on the CPU instead of torch tensors; no gradients (AgentTorch's models are differentiable and "
    "calibrated); the population is drawn from independent marginal shares, not a census synthesis",
    "a reply must be the JSON object {key: p} with p in [0, 1], asked with a JSON schema; a bad reply is re-asked "
    "with the problem, then the run fails naming it (AgentTorch reads float(reply) and takes 0.0 on failure)",
    "replicates differ by their request seed (and temperature 0.7), not only by their memories",
    "the epidemic steps a week (7 daily sub-steps) with the isolation decision drawn weekly; AgentTorch steps "
    "days. Mixing inside one's locality plus a city-wide share replaces the mobility network; an agent who stays "
    "home keeps a share of contacts as infector and infectee (AgentTorch: an isolating susceptible is not "
    "exposed); cases are onsets (exposed → infectious), where AgentTorch counts the newly exposed; no deaths",
    "the labour market is a small market of its own: the jobs there are (the scenario's demand per step), "
    "separations, and a matching function between openings and seekers; who wants to work follows a threshold "
    "drawn once per agent (still Bernoulli(p) each month), instead of AgentTorch's independent monthly draws fed "
    "to calibrated unemployment, claims and wage equations",
    "the heuristic population is a fixed rule per group (base plus per-value shifts) written in the scenario; "
    "AgentTorch's heuristic mode draws uniform random isolation values",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, dynamics: Literal["epidemic", "labour"] | None = None,
          population: int | None = None, template: list[str] | str | None = None, n_arch: int = N_ARCH,
          steps: int | None = None, heuristic: bool = False, intervention: str | None = None,
          history: int = HISTORY, concurrency: int = CONCURRENCY, retries: int = RETRIES,
          temperature: float | None = TEMPERATURE, max_tokens: int | None = MAX_TOKENS) -> AgentTorch:
    """The AgentTorch archetype simulation. `tools` are not used. `system` replaces the archetypes' system
    message (the scenario's dynamics' own otherwise). `template` is a list of attribute names or one
    comma-separated string. `sampling["seed"]` (the eval's seed) is the base of the replicates' seeds."""
    for name, value, low in (("n_arch", n_arch, 1), ("history", history, 0), ("concurrency", concurrency, 1),
                             ("retries", retries, 0)):
        if value < low:
            raise ConfigError(f"agenttorch: {name} must be at least {low}, got {value}")
    for name, value in (("population", population), ("steps", steps)):
        if value is not None and value < 1:
            raise ConfigError(f"agenttorch: {name} must be at least 1, got {value}")
    names = tuple(t.strip() for t in template.split(",") if t.strip()) if isinstance(template, str) else \
        tuple(template) if template is not None else None
    if names is not None and (not names or len(set(names)) != len(names)):
        raise ConfigError(f"agenttorch: template must name distinct attributes, got {template!r}")
    archetypes = None
    if not heuristic:
        fields = request_fields(sampling, temperature=temperature)
        base_seed = fields.pop("seed", None)
        if max_tokens is not None:
            fields["max_tokens"] = max_tokens
        archetypes = LLMArchetypes(model, fields=fields, retries=retries, system=system, n_arch=n_arch,
                                   history=history, concurrency=concurrency,
                                   base_seed=SEED if base_seed is None else base_seed)
    return AgentTorch(archetypes, dynamics=dynamics, population=population, template=names, steps=steps,
                      intervention=intervention)
