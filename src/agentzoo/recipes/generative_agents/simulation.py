"""The simulation loop: a town's day, step by step, every resident in a scope of its own.

Setup: each resident's seed memories (`setup/resident#i`). Then, at each step `k` (game time `t`):

1. each resident, concurrently (`step#k/resident#i`, scopes made before they run): observes the world as the
   last step left it (`observe`), makes sure its plan covers `t` (`plan`: the day plan at wake-up, the hour,
   the hour's actions), and, if it newly sees another resident it may talk to, decides whether to (`react`);
2. in resident order, each decision to talk whose two residents are both free becomes a conversation
   (`step#k/dialogue#j`); each of the two remembers it and re-plans the rest of its hour
   (`…/dialogue#j/resident#i`);
3. the world takes each resident's action at `t` (where it is, what it does); who is at the event's place
   during its window has attended; the clock moves one step (a journaled `clock/sim` effect).

At the end every resident but the host is interviewed (`interview/resident#i`), and the answer is the
closing record (`answer`), a JSON object the town scores.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ... import _json
from ...envs.clock import SimClock, parse_time
from ...envs.town import Doing, Percept, World, mentions, resolve
from ...envs.town.scenario import Scenario
from ...errors import ConfigError
from ...memory import MemoryStream, resolve_embedder
from ...protocols import Model
from ...runtime.context import Context
from ...teams.parallel import gather
from ...types import AgentResult
from .asking import Asker, Tally, prompt
from .dialogue import Conversation, converse, decide_to_talk
from .interview import interview, told
from .mind import Mind
from .planning import Action, Planner
from .settings import Settings


class GenerativeAgents:
    """The Generative Agents simulation of one town scenario (the task text: its name or JSON)."""

    name = "generative-agents"

    def __init__(self, model: Model, settings: Settings, fields: dict[str, Any], system: str | None) -> None:
        self.model, self.settings = model, settings
        self.asker = Asker(model, fields, system, settings.reply_attempts)
        self.last: dict[str, Any] = {}
        """After a run: each resident's whole plan and the world at the end (for tests and inspection)."""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        scenario = resolve(task).scaled(self.settings.residents)
        day = Day(self, scenario)
        answer = await day.run(ctx)
        self.last = {"plans": {m.name: p.plan.to_json() for m, p in zip(day.minds, day.planners)},
                     "world": day.world.state()}
        return AgentResult(_json.dumps_str(answer), [])


class Day:
    """One simulated day of one scenario (its state lives here, for one run)."""

    def __init__(self, sim: GenerativeAgents, scenario: Scenario) -> None:
        s = self.settings = sim.settings
        self.scenario, self.event = scenario, scenario.event
        if s.withhold is not None and s.withhold.resident not in [r.name for r in scenario.residents]:
            raise ConfigError(f"generative-agents: withhold names {s.withhold.resident!r}, who is not a resident of "
                              f"this run ({', '.join(r.name for r in scenario.residents)})")
        hours = min(s.hours or scenario.hours, scenario.hours)
        self.steps = max(1, round(hours * s.steps_per_hour))
        self.clock = SimClock.starting(scenario.start_time, 60.0 * s.step_minutes)
        self.world = World(scenario)
        self.tally = Tally()
        embedder = resolve_embedder(s.embedder)
        self.minds = [Mind(r, i, MemoryStream(model=sim.model, embedder=embedder, agent=r.name,
                                              decay=s.recency_decay, top_k=s.top_k,
                                              reflection_threshold=s.reflection_threshold),
                           sim.asker, s, self.tally)
                      for i, r in enumerate(scenario.residents)]
        self.planners = [Planner(m, scenario, scenario.end_time) for m in self.minds]
        self.conversations: list[Conversation] = []
        self.quiet_until: dict[frozenset[str], datetime] = {}
        """Pairs who talked lately, and until when neither starts another conversation (the code's chat buffer)."""
        self.attended: set[str] = set()
        self.event_simulated = False
        """Whether a step fell in the event's window (else attendance is unknown: None)."""
        self.seeded: dict[str, bool] = {}

    async def run(self, ctx: Context) -> dict[str, Any]:
        await self._setup(ctx.child("setup"))
        for k in range(self.steps):
            await self._step(ctx.child("step", k), k)
            self.clock = await self.clock.tick(ctx)
        return await self._close(ctx.child("interview"))

    # --- setup ------------------------------------------------------------------------------------

    async def _setup(self, ctx: Context) -> None:
        now, withhold = self.clock.seconds, self.settings.withhold
        scopes = [ctx.child("resident", i) for i in range(len(self.minds))]
        for mind, rctx in zip(self.minds, scopes):
            seeds = [(m.text, m.importance) for m in mind.resident.memories]
            if withhold is not None and withhold.applies(mind.name, 0):
                seeds = [s for s in seeds if not mentions(s[0], self.event)]
            self.seeded[mind.name] = any(mentions(text, self.event) for text, _ in seeds)
            await mind.seed(rctx, seeds, now)

    # --- one step ---------------------------------------------------------------------------------

    async def _step(self, ctx: Context, k: int) -> None:
        moment, now = self.clock.now, self.clock.seconds
        scopes = [ctx.child("resident", i) for i in range(len(self.minds))]
        wishes = await gather(self._think(rctx, mind, planner, moment, now)
                              for rctx, mind, planner in zip(scopes, self.minds, self.planners))
        talked: set[str] = set()
        for mind, target in zip(self.minds, wishes):
            if target is None or mind.name in talked or target in talked:
                continue
            talked |= {mind.name, target}
            await self._talk(ctx.child("dialogue", len([c for c in self.conversations if c.step == k])), k, mind,
                             self._mind(target), moment, now)
        for mind, planner in zip(self.minds, self.planners):
            action = planner.plan.current(moment)
            assert action is not None, f"{mind.name} has no action at {moment}"
            self.world.set(mind.name, Doing(action.description, action.location, action.object, action.chatting_with))
        if self._during_event(moment):
            self.event_simulated = True
            self.attended |= set(self.world.residents_in_place(self.event.place))

    async def _think(self, ctx: Context, mind: Mind, planner: Planner, moment: datetime, now: float) -> str | None:
        """Observe, plan, and decide whether to talk to someone newly seen: the name, or None."""
        seen = self.world.perceive(mind.name, self.settings.attention_bandwidth)
        new = await mind.observe(ctx.child("observe"), seen, now)
        action = await planner.ensure(ctx.child("plan"), moment, now, self.world.where(mind.name))
        target = next((p.resident for p in new if self._may_talk(mind.name, p, action, moment)), None)
        if target is None:
            return None
        own = Doing(action.description, self.world.where(mind.name))
        wants = await decide_to_talk(ctx.child("react"), mind, target, own, self.world.doing[target], moment, now)
        return target if wants else None

    def _may_talk(self, name: str, seen: Percept, action: Action, moment: datetime) -> bool:
        """The code's `lets_talk` checks before asking the model: a resident, neither asleep nor already in a
        conversation, and not someone this resident talked with lately."""
        other = seen.resident
        if other is None:
            return False
        theirs = self.world.doing[other]
        if theirs.chatting_with or action.chatting_with or "sleeping" in theirs.description \
                or "sleeping" in action.description:
            return False
        return self.quiet_until.get(frozenset((name, other)), moment) <= moment

    async def _talk(self, ctx: Context, k: int, a: Mind, b: Mind, moment: datetime, now: float) -> None:
        doing = {m.name: Doing(self._doing_now(m, moment), self.world.where(m.name)) for m in (a, b)}
        talk = await converse(ctx, k, moment, now, a, b, doing, self.event, self.settings.withhold,
                              self.settings.max_dialogue_rounds)
        self.conversations.append(talk)
        self.quiet_until[frozenset((a.name, b.name))] = moment + timedelta(
            minutes=talk.minutes + self.settings.chat_cooldown_minutes)
        scopes = {m.name: ctx.child("resident", m.index) for m in (a, b)}
        for mind, other in ((a, b), (b, a)):
            heard = talk.heard_by(mind.name)
            if heard:
                record = prompt("conversation_memory", name=mind.name, other=other.name, place=talk.place,
                                time=f"{moment:%H:%M}", lines=[(line.speaker, line.text) for line in heard])
                await mind.remember(scopes[mind.name], "dialogue", [record], now)
            chat = Action(moment, talk.minutes, prompt("chat_action", other=other.name), talk.place,
                          chatting_with=other.name)
            await self.planners[mind.index].replan(scopes[mind.name], moment, chat, now)

    def _doing_now(self, mind: Mind, moment: datetime) -> str:
        action = self.planners[mind.index].plan.current(moment)
        return action.description if action is not None else self.world.doing[mind.name].description

    def _mind(self, name: str) -> Mind:
        return next(m for m in self.minds if m.name == name)

    def _during_event(self, moment: datetime) -> bool:
        return parse_time(self.event.start) <= moment < parse_time(self.event.end)

    # --- the end ----------------------------------------------------------------------------------

    async def _close(self, ctx: Context) -> dict[str, Any]:
        now, host = self.clock.seconds, self.event.host
        asked = [m for m in self.minds if m.name != host]
        scopes = [ctx.child("resident", m.index) for m in asked]
        answers = await gather(interview(c, m, self.event, now) for c, m in zip(scopes, asked))
        interviews = dict(zip((m.name for m in asked), answers))
        heard = told(self.conversations, self.event, self.seeded)
        knew = [name for name, a in interviews.items() if a["names_event"] and name in heard]
        made_up = [name for name, a in interviews.items() if a["names_event"] and name not in heard]
        withhold = self.settings.withhold
        return {
            "scenario": self.scenario.name, "simulated_hours": self.clock.hours_elapsed, "steps": self.steps,
            "step_minutes": self.settings.step_minutes, "start": f"{self.scenario.start_time:%Y-%m-%dT%H:%M}",
            "end": f"{self.clock.now:%Y-%m-%dT%H:%M}", "residents": [m.name for m in self.minds], "host": host,
            "event": self.event.name,
            "diffusion": len(knew) / len(asked) if asked else 0.0, "knew": knew, "hallucinated": made_up,
            "told": {name: heard[name] for name in sorted(heard) if name != host},
            "attended": sorted(self.attended) if self.event_simulated else None,
            "interviews": interviews, "conversations": len(self.conversations),
            "reflections": {m.name: m.reflections for m in self.minds},
            "memories": {m.name: len(m.stream) for m in self.minds},
            "fallbacks": self.tally.as_dict(),
            "withhold": None if withhold is None else {"resident": withhold.resident, "from_step": withhold.from_step},
            "plans": {m.name: {"day": p.plan.day, "hours": p.plan.hours} for m, p in zip(self.minds, self.planners)},
            "dialogues": [c.to_json() for c in self.conversations],
        }
