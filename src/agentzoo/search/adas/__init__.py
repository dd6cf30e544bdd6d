"""ADAS: search over agent designs written as code (Hu, Lu and Clune, ICLR 2025; ShengranHu/ADAS).

- `api`: the agent-building API agents are written against (`LLMAgent`, `Info`); it runs in the sandbox.
- `seeds`: the seven hand-designed agents the archive starts from.
- `agent`: an agent's code run on a task in the sandbox, its LLM calls journaled model calls
  (`--agent adas:archive.json#7`).
- `archive`: the JSON archive, written after every evaluation, read to resume and to run an entry.
- `meta`: the meta agent that proposes, reviews and debugs designs.
- `evaluate`: what an evaluation gives back and ADAS's rules for it; the harness-backed evaluator is
  `agentzoo.eval.adas.HarnessEvaluator` (the eval layer sits above this one).
- `search`: the search program, one journaled run that replays and resumes.

    agentzoo adas search --archive archive.json --env gsm8k --model M --generations 30 --valid-size 128
    agentzoo eval --agent adas:archive.json#7 --env gsm8k --model M
"""

from .agent import AdasAgent, build
from .archive import Archive, Dropped, Entry, load_entry, read, write
from .errors import ArchiveError, GeneratedCodeError
from .evaluate import Candidate, Evaluation, Evaluator, Fitness, candidate_error
from .meta import MetaAgent, Proposal, ProposalFailed
from .search import AdasSearch, Brief, Settings
from .seeds import entries as seed_entries

__all__ = ["AdasAgent", "AdasSearch", "Archive", "ArchiveError", "Brief", "Candidate", "Dropped", "Entry", "Evaluation",
           "Evaluator", "Fitness", "GeneratedCodeError", "MetaAgent", "Proposal", "ProposalFailed", "Settings",
           "build", "candidate_error", "load_entry", "read", "seed_entries", "write"]
