"""A crash script for the cogni-cismef tests: the model-reading agent on the insomnia need (four readings, the
model played by the recipe's oracle player), run to its end or killed by SIGKILL after the n-th model call
(`python cogni_cismef_crash.py JOURNAL [KILL_AFTER]`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from helpers import kill

from agentzoo.envs.catalogue_search import CatalogueSearch
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes._oracle import PLAYERS
from agentzoo.recipes._oracle.gold import Gold
from agentzoo.recipes.cogni_cismef import build

ENV = CatalogueSearch()
TASK = next(t for t in ENV.tasks() if t.id == "oov/insomnia")
CALLS = 4  # the opening, the help's answer, the topic chosen, the facet waved off (the fourth act satisfies)


def reader() -> ScriptedModel:
    return ScriptedModel(PLAYERS["cogni-cismef"](Gold.of(ENV, TASK)))


def agent(episode, model):
    return build(model, episode=episode)


if __name__ == "__main__":
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    episode = ENV.episode(TASK)
    kill.run_to_the_end_or_killed(agent(episode, reader()), episode.prompt, sys.argv[1], kill_after)
