"""Installamatic (`installamatic`, #18): search a repository's documents for install instructions, write an install
script, try it in the sandbox and repair it from the log.

Milliken, Kang, Yoo 2024, "Beyond pip install: Evaluating LLM Agents for the Automated Installation of Python
Projects" (arXiv:2412.06294; SANER 2025), §III. Documentation gathering: an LLM-guided search that opens with the
repository's top folder, each step a plan in words and then one tool call (directory contents, file contents,
presence check, submit_documentation, finished_search). Then the gathered documents are summarised and a
Dockerfile that installs the repository and runs its tests is written and built; when it fails, a repair (a new
conversation with the Dockerfile and the build log: explain the error, search any file, suggest a fix and write
the repaired Dockerfile), at most two repairs. Each repository is attempted 10 times; a repository counts as
installed when at least one attempt succeeded (pass@10: the harness's pass@k over 10 seeds). The loop is in
`agent.py`, the prompts in `prompts/`.

It acts in `repo-install` (`ACTS_IN`): the environment whose actions (`ls`, `cat`, `exists`, `try`, `submit`) it
takes, where the Dockerfile's analogue is a shell script run in a fresh copy of the repository in the sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import recipe_driver
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import Installamatic, Settings, read_action, read_script

__all__ = ["ACTS_IN", "ANSWER_KINDS", "Installamatic", "build", "read_action", "read_script"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the script it leaves, run with the repository's tests, is what is scored."""
ACTS_IN = ("repo-install",)

MAX_REPAIRS = 2            # paper §III-C: "we set the maximum number of repair attempts to two"
RUNS_PER_REPOSITORY = 10   # paper §IV-B: "We apply Installamatic to each repository 10 times" (seeds: 10 -> pass@10)
MAX_SEARCH_STEPS = 10      # ours: the paper's search runs "until the agent deems the search to have ended"
REPAIR_SEARCH_STEPS = 5    # ours: the same, for the repair's search
TEMPERATURE = 1.0          # ours: the paper names none (gpt-4o-mini-2024-07-18, whose API default is 1.0)
MAX_TOKENS = 1_024         # ours: a plan, an action, a summary or a script

PRESETS: dict[str, dict[str, Any]] = {
    "installamatic": {},                        # the paper's agent: gathering, summary, script, two repairs
    "no-repair": {"max_repairs": 0},            # the first script only (paper Fig. 6a: 36.5% of successes)
}
DEFAULT_PRESET = "installamatic"
OPTION_SOURCES: dict[str, str] = {
    "max_repairs": "paper §III-C: at most two repair attempts",
    "max_search_steps": "ours: the paper's documentation search has no stated step limit",
    "repair_search_steps": "ours: the repair's search has no stated step limit",
    "temperature": "ours: the paper states none; 1.0 is its model's API default",
    "max_tokens": "ours",
}
DEVIATIONS: list[str] = [
    "the Dockerfile is a shell script run with `bash -e` in a fresh copy of the repository in agentzoo's sandbox "
    "(no Docker, no network; pip installs from the repository with --no-index); Installamatic builds a Dockerfile "
    "in a virtual machine with network access",
    "a try succeeds when the script exits 0 and then the verification command (the repository's test run) exits 0 "
    "(PAPERS.md's rule); Installamatic's own check during repair reads the build log for at least one passing test",
    "actions are text lines (`ls`, `cat`, `exists`, `record`, `done`) rather than function calls; `cat` shows the "
    "whole file (the paper shows a Markdown or reST file's section headers and has inspect_header for a section: "
    "these repositories' documents are short)",
    "the summary stage reads the recorded documents whole and summarises them in one call; the paper's summary "
    "stage searches the recorded documents again before its submit_summary",
    "the repositories are small ones written for this project (envs/repo_install/repos), not the paper's 40 "
    "GitHub projects",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, max_repairs: int = MAX_REPAIRS,
          max_search_steps: int = MAX_SEARCH_STEPS, repair_search_steps: int = REPAIR_SEARCH_STEPS,
          temperature: float | None = TEMPERATURE, max_tokens: int | None = MAX_TOKENS) -> Installamatic:
    """Installamatic on the harness's episode (a `repo-install` repository); with none, an agent that replays a run
    from its journal. `tools` and `system` are not used: the agent acts by its replies, with the paper's prompts."""
    if max_repairs < 0 or max_search_steps < 0 or repair_search_steps < 0:
        raise ConfigError("installamatic: max_repairs, max_search_steps and repair_search_steps cannot be negative")
    fields = request_fields(sampling, temperature=temperature)
    if max_tokens is not None:
        fields.setdefault("max_tokens", max_tokens)
    driver = recipe_driver(episode, f"installamatic acts in a repository step by step: it needs an episode of "
                                    f"{', '.join(ACTS_IN)}")
    return Installamatic(model, driver, Settings(max_search_steps, repair_search_steps, max_repairs),
                         sampling=fields)
