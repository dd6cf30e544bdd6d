"""The simulation clock: steps ↔ game time, each move a journaled effect that replays and diverges by name."""

from datetime import datetime, timezone

import pytest

from agentzoo.envs.clock import SimClock
from agentzoo.errors import ConfigError
from agentzoo.runtime import runner
from agentzoo.types import AgentResult


class Ticker:
    name = "ticker"

    def __init__(self, moves):
        self.moves = moves
        self.times: list[str] = []

    async def run(self, task, ctx):
        clock = SimClock.starting("2023-02-13T06:00", 600)
        for move in self.moves:
            clock = await (clock.tick(ctx, move) if isinstance(move, int) else clock.jump_to(ctx, move))
            self.times.append(clock.now.isoformat())
        return AgentResult(answer=clock.describe())


def test_steps_map_to_game_time():
    clock = SimClock.starting("2023-02-13T06:00", 600)
    assert clock.now == datetime(2023, 2, 13, 6, tzinfo=timezone.utc)
    assert clock.time_at(6) == datetime(2023, 2, 13, 7, tzinfo=timezone.utc)
    assert clock.steps_until("2023-02-13T07:05") == 7  # the first step at or after 07:05
    assert clock.steps_until("2023-02-13T05:00") == 0
    assert clock.describe() == "Monday February 13, 2023, 06:00"
    assert SimClock.from_state(clock.state()) == clock


@pytest.mark.parametrize("start, step, message", [
    ("yesterday", 600, "ISO 8601"), ("2023-02-13T06:00", 0, "more than 0"), ("2023-02-13T06:00", -5, "more than 0"),
])
def test_bad_clock_settings_are_named(start, step, message):
    with pytest.raises(ConfigError, match=message):
        SimClock.starting(start, step)


async def test_moves_are_journaled_and_replay_serves_them(journal):
    agent = Ticker([1, 5, "2023-02-14T07:00"])
    result = await runner.run(agent, "tick", journal=journal)
    assert result.ok and agent.times == ["2023-02-13T06:10:00+00:00", "2023-02-13T07:00:00+00:00",
                                         "2023-02-14T07:00:00+00:00"]
    entries = list(journal.entries(result.run_id))
    assert [(e.kind, e.name) for e in entries] == [("clock", "sim")] * 3
    again = Ticker([1, 5, "2023-02-14T07:00"])
    replayed = await runner.replay(again, result.run_id, journal=journal)
    assert replayed.ok and again.times == agent.times and replayed.answer == result.answer


async def test_a_clock_that_moves_differently_diverges_at_that_move(journal):
    result = await runner.run(Ticker([1, 5]), "tick", journal=journal)
    forked = await runner.fork(Ticker([1, 6]), result.run_id, journal=journal)
    assert forked.ok and forked.fork_point["seq"] == 1
