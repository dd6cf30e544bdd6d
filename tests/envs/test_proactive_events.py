"""proactive-events meets the step contract (issue 14's evidence): the oracle scores 1.0 through the CLI, a
perturbed oracle less, a run replays without the environment, a SIGKILLed run resumes without repeating a step,
and restore gives the same observations. Plus its own rules: the shipped streams' shape and labels."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import step_conformance as conformance

from agentzoo.envs.proactive_events import (
    DATA,
    LabelJudge,
    ProactiveEvents,
    load_streams,
)
from agentzoo.errors import ConfigError

ENV = ProactiveEvents()
TASKS = ENV.tasks()
TRIP = next(t for t in TASKS if t.id == "life/trip")  # 6 events


def test_the_shipped_streams_are_eight_of_four_to_six_labelled_events_whose_gold_the_labels_accept():
    streams = load_streams(str(DATA))
    assert len(streams) == 8 and all(4 <= len(s["events"]) <= 6 for s in streams)
    assert {s["domain"] for s in streams} == {"coding", "writing", "daily life"}
    for s in streams:
        needs = [e for e in s["events"] if e["help"]]
        assert needs and len(needs) < len(s["events"]), s["id"]  # every stream has both kinds of event
        for e in needs:
            assert e["help"]["task"] and any(w.lower() in e["help"]["task"].lower() for w in e["help"]["accept"])


async def test_the_label_judge_rejects_help_nobody_needs_and_help_that_misses_the_point():
    judge, events = LabelJudge(), ENV.stream(TRIP)["events"]
    assert await judge.accepts("Find a taxi from the airport", events[1], events[:1])
    assert not await judge.accepts("Tell a joke", events[1], events[:1])
    assert not await judge.accepts("Find a taxi from the airport", events[0], [])


def test_a_bad_streams_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"streams": [{"id": "x", "domain": "d", "events": [{"time": "1", "event": "e", '
                   '"help": {"accept": [], "task": ""}}]}]}')
    with pytest.raises(ConfigError, match="names accept words and a task"):
        ProactiveEvents(bad)


def test_the_oracle_scores_full_through_the_cli(tmp_path):
    conformance.oracle_scores_full_through_cli("proactive-events", tmp_path, limit=3)


async def test_a_perturbed_oracle_scores_less():
    await conformance.perturbed_oracle_scores_less(ProactiveEvents(), TASKS[:3])


async def test_a_run_replays_without_the_environment(tmp_path):
    await conformance.replays_without_touching_the_environment(ProactiveEvents(), TRIP, tmp_path)  # made untouchable


def test_sigkill_then_resume_repeats_no_step(tmp_path):
    conformance.sigkill_then_resume_repeats_no_step("proactive-events", TRIP.id, tmp_path, pause_at=3)


async def test_restore_gives_the_same_observations():
    gold = ENV.oracle(TRIP, "stepper")
    actions = [a.removeprefix("Action: ") for a in gold if a.startswith("Action: ")]
    await conformance.restore_gives_the_same_observations(ProactiveEvents(), TRIP, prefix=actions[:1], probe=actions[1:6])
