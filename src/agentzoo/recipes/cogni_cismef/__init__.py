"""Cogni-CISMeF (`cogni-cismef`, PAPERS.md #7): a conversational agent that refines a health-catalogue query with
its user.

Loisel, Chaignaud, Kotowicz (ICAART 2008 and IEEE/WIC/ACM WI-IAT workshops 2007: the Cogni-CISMeF project) and Loisel, Dubuisson Duplessis, Chaignaud, Kotowicz, Pauchet 2012 ("A
conversational agent for information retrieval based on a study of human dialogues", ICAART): from a corpus of
dialogues between users and a CISMeF expert, an agent that tracks the user's intentions and reformulations,
translates them into queries over the MeSH-indexed catalogue, and, when a query gives nothing or too much,
guides the user by proposing examples, help and choices (GoDiS-based in 2012). The paper's system has no
language model.

Here (`agent.CogniCismef`): a dialogue state tracker (`tracker`), a reader of the user's words (`reading`), and
the query-refinement loop with the cooperative strategies, acting in `catalogue-search` (`ACTS_IN`), our
catalogue and simulated user. The dialogue manager is rules in every configuration; `understanding` chooses
who reads the user's free text:
- `"model"` (the default): the model, one journaled call per utterance, a strict JSON reading;
- `"rules"` (preset `rules`: the paper's configuration): a lexicon, no model call at all.
The model is the default because a recipe runs with the model it is given (the harness and the CLI always give
one, and it should be used); the `rules` preset is the pre-LLM system the paper describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, recipe_driver
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import CogniCismef
from .reading import ModelReader, parse_reading, read_rules
from .tracker import INTENTIONS, DialogueState, Reading

__all__ = [
    "ACTS_IN",
    "ANSWER_KINDS",
    "INTENTIONS",
    "PRESETS",
    "CogniCismef",
    "DialogueState",
    "Reading",
    "build",
    "parse_reading",
    "read_rules",
]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode: every act is a step, and the user's satisfaction is scored."""
ACTS_IN = ("catalogue-search",)
UNDERSTANDING = ("model", "rules")
SHOW_MAX = 3             # ours: the paper's expert calls 11 documents "too much" and shows 1; we show up to 3
MAX_ACTS = 12            # ours: a bound on the agent's dialogue acts (the environment's user leaves after 8)
TEMPERATURE = 0.0        # ours: one reading per utterance, read deterministically

PRESETS: dict[str, dict[str, Any]] = {
    "cogni-cismef": {},                     # the model reads, the rules manage the dialogue
    "rules": {"understanding": "rules"},    # the paper's pre-LLM system: no model call
}
DEFAULT_PRESET = "cogni-cismef"
OPTION_SOURCES: dict[str, str] = {
    "understanding": ("who reads the user's words: 'rules' is the paper's lexicon-based semantic analysis, "
                      "'model' ours (a strict JSON reading per utterance)"),
    "show_max": "ours: results shown at once; the 2012 paper's example calls 11 'too much' and narrows by audience",
    "max_acts": "ours: a bound on the agent's dialogue acts in one episode",
    "temperature": "ours: greedy readings (the paper has no model)",
}
DEVIATIONS: list[str] = [
    ("the catalogue is ours (80 fictional resources under 25 descriptors, English words), not CISMeF's; a "
     "resource has one descriptor, one subheading and one type, where CISMeF indexes several"),
    ("the user is a rule-based simulator with an information need, not a person; the papers report no "
     "quantitative evaluation (their planned one compares precision and recall with a librarian's queries)"),
    ("the dialogue manager is a page of rules over our tracker, not GoDiS's issue-based update rules; the "
     "intentions are ours, after the phases of the paper's corpus analysis"),
    "the model option (reading the user's words with a model) is ours; the paper's system has no model",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, understanding: str = "model",
          show_max: int = SHOW_MAX, max_acts: int = MAX_ACTS, temperature: float | None = TEMPERATURE) -> CogniCismef:
    """The agent on the harness's episode (a `catalogue-search` need); with none, one that replays a run from its
    journal. `tools` and `system` are not used: it acts by dialogue acts, and its prompts are its own."""
    if understanding not in UNDERSTANDING:
        raise ConfigError(f"cogni-cismef: understanding must be one of {', '.join(UNDERSTANDING)}, "
                          f"got {understanding!r}")
    if show_max < 1 or max_acts < 1:
        raise ConfigError(f"cogni-cismef: show_max and max_acts must be at least 1, got {show_max}, {max_acts}")
    reader = ModelReader(model, request_fields(sampling, temperature=temperature)) \
        if understanding == "model" else None
    return CogniCismef(_driver(episode), reader, show_max=show_max, max_acts=max_acts)


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"cogni-cismef refines queries with a user step by step: "
                                  f"it needs an episode of {', '.join(ACTS_IN)}")
