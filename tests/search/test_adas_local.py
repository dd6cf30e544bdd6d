"""ADAS with the shipped local model, for real (issue 15, evidence 4): SmolLM2-135M plays the meta agent
and the agents, on two GSM8K tasks, one generation, through the harness and the sandbox. A 135M model
designs no working agent; what is checked is that a real model drives the whole loop, every call is
journaled, and the search replays from its journal with no model call."""

from __future__ import annotations

import pytest

from agentzoo import Journal
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.eval.adas import HarnessEvaluator
from agentzoo.models.registry import RecordedOnlyModel, parse_model
from agentzoo.runtime import runner
from agentzoo.search.adas import AdasSearch, Archive, Brief, MetaAgent, Settings, seed_entries
from agentzoo.search.adas.agent import API_SOURCE

MODEL = "local:smollm2-135m?ctx=8192&max_tokens=96"


async def test_one_generation_with_the_shipped_local_model(tmp_path):
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    env = GSM8K()
    tasks = env.tasks()[:2]
    evaluator = HarnessEvaluator("gsm8k", env, tasks, MODEL, tmp_path / "work", concurrency=1)
    brief = Brief("gsm8k", "numbers", env.tasks()[2].prompt, env.tasks()[2].gold)
    start = Archive(seed_entries()[:1])  # chain of thought alone: one call per task
    meta_model = parse_model(MODEL)
    settings = Settings(generations=1, debug_max=1)
    try:
        program = AdasSearch(MetaAgent(meta_model, max_tokens=128), evaluator, brief, start, settings=settings,
                             api_source=API_SOURCE)
        with Journal(tmp_path / "journal.db") as journal:
            live = await runner.run(program, "search", journal=journal)
            assert live.ok, live.error
            archive = program.archive
            [seed] = [e for e in archive.entries if e.generation is None]
            assert seed.fitness is not None and seed.evaluation["cost"]["model_calls"] == 2
            assert archive.generations_done == 1
            assert len(archive.entries) + len(archive.dropped) == 2  # generation 1 added an agent or was dropped
            meta_calls = [e for e in journal.entries(live.run_id) if e.kind == "model"]
            assert 1 <= len(meta_calls) <= 4 and live.model_calls == len(meta_calls)
            assert all(e.request["temperature"] == 0.8 and e.request["response_format"] == {"type": "json_object"}
                       for e in meta_calls)
            replayed = AdasSearch(MetaAgent(RecordedOnlyModel(meta_model.name), max_tokens=128), None, brief, start,
                                  settings=settings, evaluation=evaluator.describe(), api_source=API_SOURCE)
            again = await runner.replay(replayed, live.run_id, journal=journal)
        assert again.ok and again.live_effects == 0 and replayed.archive.state() == archive.state()
    finally:
        await meta_model.aclose()
