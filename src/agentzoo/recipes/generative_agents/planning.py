"""Planning (paper §4.3): a day plan in broad strokes at wake-up, then hour-long chunks, then 5–15-minute
actions, each decomposed only when the simulation reaches it (the code decomposes the current hour as it
comes, and re-plans the rest of the hour after a reaction).

A resident's plan is plain data: the day plan, the activity of each hour reached so far, and a timeline
of actions (start, minutes, what, where). The model's actions are fitted to the time they must fill: in
order until it is full (the one that crosses the end is cut), and if they fall short the last one goes on
in pieces of at most the longest action length (the code, too, cuts or extends its decomposition to the
hour). When the model cannot give a usable plan after its attempts, the resident follows the scenario's
routine for that hour (the code falls back to fixed fail-safe plans); each such fallback is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...envs.town.scenario import Scenario
from ...runtime.context import Context
from .asking import integer, prompt, text
from .mind import Mind

_HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}


@dataclass(frozen=True)
class Action:
    start: datetime
    minutes: int
    description: str
    """Completes `<name> is …`."""
    location: str
    object: str = ""
    chatting_with: str = ""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def to_json(self) -> dict[str, Any]:
        return {"start": f"{self.start:%H:%M}", "minutes": self.minutes, "description": self.description,
                "location": self.location, **({"object": self.object} if self.object else {}),
                **({"chatting_with": self.chatting_with} if self.chatting_with else {})}


@dataclass
class Plan:
    day: list[dict[str, str]] = field(default_factory=list)
    """The day in broad strokes: [{"time": "HH:MM", "activity": …}], 5–8 items."""
    hours: dict[str, str] = field(default_factory=dict)
    """Hour-long chunks reached so far: "HH:00" -> activity."""
    actions: list[Action] = field(default_factory=list)
    """The decomposed timeline, in order, without gaps once started."""

    def current(self, moment: datetime) -> Action | None:
        return next((a for a in reversed(self.actions) if a.covers(moment)), None)

    @property
    def end(self) -> datetime | None:
        return self.actions[-1].end if self.actions else None

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "hours": self.hours, "actions": [a.to_json() for a in self.actions]}


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def fill(items: list[dict[str, Any]], start: datetime, end: datetime, longest: int, *,
         where: str, known: list[str], objects: dict[str, tuple[str, ...]]) -> list[Action]:
    """The model's `items` ({description, minutes, location[, object]}) laid from `start` to exactly `end`
    (see the module doc). An object not in the action's area is dropped."""
    total = int((end - start).total_seconds() // 60)
    out: list[Action] = []
    at, left = start, total
    for item in items:
        if left <= 0:
            break
        minutes = min(int(item["minutes"]), left)
        location = item["location"] if item["location"] in known else where
        obj = item.get("object", "")
        obj = obj if obj in objects.get(location, ()) else ""
        out.append(Action(at, minutes, clean(item["description"]), location, obj))
        at, left = at + timedelta(minutes=minutes), left - minutes
    while left > 0 and out:
        piece = min(longest, left)
        last = out[-1]
        out.append(Action(at, piece, last.description, last.location, last.object))
        at, left = at + timedelta(minutes=piece), left - piece
    return out


def clean(description: str) -> str:
    """An action as `<name> is …` completes it: one line, no trailing period."""
    return " ".join(description.split()).rstrip(".") or "going about the day"


class Planner:
    """Makes and keeps one resident's plan."""

    def __init__(self, mind: Mind, scenario: Scenario, day_end: datetime) -> None:
        self.mind, self.scenario, self.day_end = mind, scenario, day_end
        self.plan = Plan()
        self.known = scenario.known_addresses(mind.resident)
        self.objects = {a: scenario.objects_at(a) for a in self.known}

    @property
    def settings(self):
        return self.mind.settings

    async def ensure(self, ctx: Context, moment: datetime, now: float, where: str) -> Action:
        """The action at `moment`, planning what is missing: the day (at wake-up), this hour, its actions."""
        if not self.plan.day:
            await self._day(ctx.child("day"), moment, now)
        hour = hour_of(moment)
        key = f"{hour:%H:%M}"
        if key not in self.plan.hours:
            await self._hour(ctx.child("hour"), hour, now)
        current = self.plan.current(moment)
        if current is None:
            # From where the timeline stops (never before this hour), or from now on the first decomposition.
            start = moment if self.plan.end is None else max(self.plan.end, hour)
            end = min(hour + timedelta(hours=1), self.day_end)
            self.plan.actions += await self._decompose(ctx.child("decompose"), start, end, now, where)
            current = self.plan.current(moment)
        assert current is not None
        return current

    async def _day(self, ctx: Context, moment: datetime, now: float) -> None:
        mind, (fewest, most) = self.mind, self.settings.day_plan_items
        date = f"{moment:%A %B} {moment.day}"
        memories = await mind.recall_texts(ctx, prompt("day_query", name=mind.name, date=date), now)
        asked = prompt("day_plan", identity=mind.identity, first=mind.first_name, date=date,
                       wake=f"{moment:%H:%M}", end=f"{self.day_end:%H:%M}", routine=mind.resident.routine,
                       memories=memories, fewest=fewest, most=most)
        item = {"type": "object", "properties": {"time": _HHMM, "activity": text(3, 100)},
                "required": ["time", "activity"], "additionalProperties": False}
        reply = await mind.asker.ask(ctx, asked, "day_plan",
                                     {"plan": {"type": "array", "minItems": fewest, "maxItems": most, "items": item}})
        if reply is None:
            mind.tally.add("plan")
            day = [{"time": r.time, "activity": r.activity} for r in mind.resident.routine]
            day = day or [{"time": f"{moment:%H:%M}", "activity": mind.resident.start_activity}]
        else:
            day = sorted(({"time": i["time"], "activity": clean(i["activity"])} for i in reply["plan"]),
                         key=lambda i: i["time"])
        self.plan.day = day
        record = prompt("plan_memory", name=mind.name, date=date, plan=day)
        await mind.remember(ctx, "plan", [record], now, [self.settings.plan_importance])

    async def _hour(self, ctx: Context, hour: datetime, now: float) -> None:
        mind = self.mind
        earlier = [(k, v) for k, v in sorted(self.plan.hours.items())]
        start, end = f"{hour:%H:%M}", f"{hour + timedelta(hours=1):%H:%M}"
        memories = await mind.recall_texts(ctx, prompt("hour_query", name=mind.name, start=start, end=end), now)
        asked = prompt("hour", identity=mind.identity, first=mind.first_name, day=self.plan.day, earlier=earlier,
                       memories=memories, start=start, end=end)
        reply = await mind.asker.ask(ctx, asked, "hour", {"activity": text(3, 100)})
        if reply is None:
            mind.tally.add("plan")
            activity = self._routine_at(hour)[0]
        else:
            activity = clean(reply["activity"])
        self.plan.hours[f"{hour:%H:%M}"] = activity

    async def _decompose(self, ctx: Context, start: datetime, end: datetime, now: float, where: str) -> list[Action]:
        mind = self.mind
        activity = self.plan.hours[f"{hour_of(start):%H:%M}"]
        minutes = int((end - start).total_seconds() // 60)
        shortest, longest = self.settings.action_minutes
        if minutes < shortest:  # too short to split: the hour's activity, where the routine says
            return [Action(start, minutes, activity, self._routine_at(start)[1])]
        asked = prompt("decompose", identity=mind.identity, first=mind.first_name, activity=activity,
                       start=f"{start:%H:%M}", end=f"{end:%H:%M}", minutes=minutes, shortest=shortest,
                       longest=longest, where=where, places=self.known, objects=self.objects)
        items = await self._ask_actions(ctx, asked, minutes)
        if items is None:
            mind.tally.add("plan")
            return [Action(start, minutes, activity, self._routine_at(start)[1])]
        return fill(items, start, end, longest, where=where, known=self.known, objects=self.objects)

    async def replan(self, ctx: Context, moment: datetime, inserted: Action, now: float) -> None:
        """After a reaction that takes `inserted` (from `moment`): drop what had not started, cut the current
        action, put `inserted` in, and re-plan the rest of the hour (the code's new decomposition)."""
        kept = [a for a in self.plan.actions if a.start < moment]
        dropped = [a for a in self.plan.actions if a.start >= moment]
        if kept and kept[-1].end > moment:
            last = kept[-1]
            cut = int((moment - last.start).total_seconds() // 60)
            kept[-1:] = [Action(last.start, cut, last.description, last.location, last.object)] if cut > 0 else []
        self.plan.actions = [*kept, inserted]
        hour_end = min(hour_of(moment) + timedelta(hours=1), self.day_end)
        if inserted.end >= hour_end:
            return
        mind = self.mind
        shortest, longest = self.settings.action_minutes
        minutes = int((hour_end - inserted.end).total_seconds() // 60)
        if minutes < shortest:
            self.plan.actions.append(Action(inserted.end, minutes, self.plan.hours[f"{hour_of(moment):%H:%M}"],
                                            inserted.location))
            return
        asked = prompt("replan", identity=mind.identity, first=mind.first_name, inserted=inserted.description,
                       since=f"{inserted.start:%H:%M}", until=f"{inserted.end:%H:%M}", end=f"{hour_end:%H:%M}",
                       minutes=minutes, dropped=[a.to_json() for a in dropped], shortest=shortest, longest=longest,
                       where=inserted.location, places=self.known, objects=self.objects)
        items = await self._ask_actions(ctx, asked, minutes)
        if items is None:
            mind.tally.add("plan")
            items = [{"description": a.description, "minutes": a.minutes, "location": a.location, "object": a.object}
                     for a in dropped] or [{"description": self.plan.hours[f"{hour_of(moment):%H:%M}"],
                                            "minutes": minutes, "location": inserted.location}]
        self.plan.actions += fill(items, inserted.end, hour_end, longest, where=inserted.location, known=self.known,
                                  objects=self.objects)

    async def _ask_actions(self, ctx: Context, asked: str, minutes: int) -> list[dict[str, Any]] | None:
        shortest, longest = self.settings.action_minutes
        item = {"type": "object",
                "properties": {"description": text(3, 100), "minutes": integer(shortest, longest),
                               "location": {"type": "string", "enum": self.known},
                               "object": {"type": "string", "maxLength": 40}},
                "required": ["description", "minutes", "location", "object"], "additionalProperties": False}
        most = max(1, -(-minutes // shortest))
        actions = {"type": "array", "minItems": 1, "maxItems": most, "items": item}
        reply = await self.mind.asker.ask(ctx, asked, "actions", {"actions": actions})
        return None if reply is None else reply["actions"]

    def _routine_at(self, moment: datetime) -> tuple[str, str]:
        """(activity, location) of the routine line in force at `moment` (the first line before any)."""
        routine = self.mind.resident.routine
        if not routine:
            return self.mind.resident.start_activity, self.mind.resident.home
        clock = f"{moment:%H:%M}"
        current = routine[0]
        for item in routine:
            if item.time <= clock:
                current = item
        return current.activity, current.location
