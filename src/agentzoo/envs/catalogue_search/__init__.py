"""`catalogue-search`: find a health resource for a simulated user by dialogue over a small catalogue.

After Cogni-CISMeF (Loisel, Chaignaud, Kotowicz 2008; Loisel et al. 2012): a conversational agent helps a user
search CISMeF, the catalogue of French-language health resources indexed with MeSH, by refining the query with
them: the expert of the paper's corpus builds the query, runs it, evaluates the results (none, or too many) and
proposes choices, reformulations, examples and help. Here the catalogue (`data/catalogue.json`, 80 resources
under a 25-descriptor terminology) and the needs (`data/tasks.json`, 12) are ours, original and fictional, and
the user is `user.SimulatedUser`, deterministic rules.

A step episode (`envs.step`). The agent's actions:
- `search [query]` and `browse [descriptor]` consult the catalogue (no user turn): a query is items joined by
  `;`, each `field=value` or a topic phrase the terminology maps to descriptors (`catalogue`); the observation
  lists the hits, the facet counts among them and the words the terminology does not know (also as data);
- `propose [a | b | ...]`, `reformulate [query]`, `help [examples]`, `ask [question]` and `show [ids]` are
  dialogue acts: each takes one user turn and the observation is the user's reply (`User: ...`).
The episode ends when the user is satisfied (a target shown) or leaves (its turn budget spent).

Score: success (reward 1) when a target resource was shown; the details carry the user turns, the searches, the
dialogue acts of both sides, and `empty_answers` (a `show []`: the answer the protocol test forbids).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError, UserError
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task
from ..step import ActionSpace, EpisodeRules, Observation, StepOutcome
from .catalogue import DATA as CATALOGUE
from .catalogue import FIELDS, Catalogue, Query, load
from .user import MAX_SHOWN, SimulatedUser, UserState

__all__ = ["Catalogue", "CatalogueEpisode", "CatalogueSearch", "Query", "SimulatedUser", "load", "parse_action"]

TASKS = Path(__file__).parent / "data" / "tasks.json"
MAX_TURNS = 8
"""ours: user turns before the user gives up (the paper's dialogues have no fixed length)."""
MAX_LISTED = 10
"""ours: hits listed in a search observation (the count and the facets cover all of them)."""
DIALOGUE = ("propose", "reformulate", "help", "ask", "show")
LOOKUP = ("search", "browse")
SPACE = ActionSpace(
    "Help the user find a resource in the health catalogue. Consult the catalogue (no user turn):\n"
    "- `search [query]`: items joined by `;`, each a topic phrase or `field=value` (fields: "
    f"{', '.join(FIELDS)}), e.g. `search [asthma; audience=patient]`;\n"
    "- `browse [descriptor]`: the descriptors under one; `browse []` lists the top of the terminology.\n"
    "Talk to the user (one turn each; the user replies):\n"
    "- `propose [a | b | c]`: offer choices, each a descriptor or `field=value`;\n"
    "- `reformulate [query]`: propose a changed query;\n"
    "- `help [text]`: offer examples of terms and explain how to search;\n"
    "- `ask [question]`: ask the user to say more;\n"
    f"- `show [R001, R002]`: give the user up to {MAX_SHOWN} resources; the user ends when one is what they need.",
    DIALOGUE + LOOKUP)
_ACTION = re.compile(r"(?P<verb>[a-z]+)\s*\[(?P<arg>.*)\]\s*", re.DOTALL | re.IGNORECASE)
_ID = re.compile(r"R\d{3}")


def parse_action(text: str) -> tuple[str, str]:
    """`verb [argument]` -> (verb, argument); anything else is a ValueError saying what is expected."""
    source = text.strip().strip("`").strip()
    found = _ACTION.fullmatch(source)
    if found is None or found.group("verb").lower() not in DIALOGUE + LOOKUP:
        raise ValueError(f"not an action: {source[:80]!r}; write one of {', '.join(DIALOGUE + LOOKUP)} "
                         "followed by its argument in brackets")
    return found.group("verb").lower(), found.group("arg").strip()


@lru_cache(maxsize=4)
def load_tasks(path: str) -> tuple[dict[str, Any], ...]:
    try:
        tasks = tuple(_json.loads(Path(path).read_text(encoding="utf-8"))["tasks"])
        for t in tasks:
            if not (t["id"] and t["target"] and t["need"]["topic"] and t["opening"]):
                raise ValueError(f"{t.get('id')}: a task names an id, targets, a need's topic and an opening")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a catalogue-search tasks file ({exc})") from None
    return tasks


class CatalogueEpisode:
    """One need being searched for. Its state: the user's (what it said, its turns) and the acts so far."""

    action_space = SPACE

    def __init__(self, catalogue: Catalogue, task_data: dict[str, Any], max_turns: int) -> None:
        self.catalogue, self.data, self.max_turns = catalogue, task_data, max_turns
        self._fresh()

    def _fresh(self) -> None:
        self.user = SimulatedUser(self.catalogue, self.data)
        self.acts: list[dict[str, Any]] = []
        self.searches = 0
        self.empty_answers = 0
        self.delivered: list[str] = []
        self.satisfied = False
        self.left = False

    async def reset(self, seed: int | None = None) -> Observation:
        self._fresh()
        self.acts.append({"by": "user", "act": "verbalise", "text": self.data["opening"]})
        return Observation(f"User: {self.data['opening']}", {"turn": 0})

    async def step(self, action: str) -> StepOutcome:
        if self.satisfied or self.left:
            return StepOutcome(Observation("The user has left."), done=True, info=self._info())
        try:
            verb, arg = parse_action(action)
            if verb in LOOKUP:
                return self._lookup(verb, arg)
            return self._turn(verb, arg)
        except ValueError as exc:
            return StepOutcome(Observation(f"{exc}."), info={**self._info(), "parse_error": str(exc)})

    def _lookup(self, verb: str, arg: str) -> StepOutcome:
        turn = self.user.state.turns
        if verb == "browse":
            under = self.catalogue.narrower(arg.strip().lower() or None)
            if arg.strip() and arg.strip().lower() not in self.catalogue.terms:
                raise ValueError(f"no descriptor {arg.strip()!r} in the terminology")
            text = f"Under {arg.strip() or 'the top of the terminology'}: {', '.join(under) or '(nothing)'}"
            return StepOutcome(Observation(text, {"narrower": under}),
                               info={**self._info(), "action": f"browse {arg.strip().lower()} at turn {turn}"})
        query = self.catalogue.parse(arg)
        result = self.catalogue.search(query)
        self.searches += 1
        self.acts.append({"by": "agent", "act": "search", "query": query.text(), "count": len(result.ids)})
        lines = [f"Query: {query.text()}"]
        if query.unknown:
            lines.append(f"Not in the terminology: {', '.join(query.unknown)}")
        lines.append(f"{len(result.ids)} result(s)" + (":" if result.ids else "."))
        lines += [self.catalogue.line(i) for i in result.ids[:MAX_LISTED]]
        if len(result.ids) > MAX_LISTED:
            lines.append(f"... and {len(result.ids) - MAX_LISTED} more")
        if result.facets:
            lines.append("Facets: " + "; ".join(f"{k}: " + ", ".join(f"{v} {n}" for v, n in counts.items())
                                                for k, counts in result.facets.items()))
        broader = {d: self.catalogue.terms[d]["broader"] for d in query.descriptors}
        data = {"query": query.text(), "descriptors": list(query.descriptors),
                "constraints": [list(c) for c in query.constraints], "unknown": list(query.unknown),
                "count": len(result.ids), "ids": list(result.ids), "facets": result.facets, "broader": broader}
        return StepOutcome(Observation("\n".join(lines), data),
                           info={**self._info(), "action": f"search {query.text()} at turn {turn}"})

    def _turn(self, verb: str, arg: str) -> StepOutcome:
        user = self.user
        if verb == "propose":
            options = [o.strip() for o in arg.split("|") if o.strip()]
            if not options:
                raise ValueError("propose needs choices: `propose [a | b]`")
            act, said = user.choose(options)
            record: dict[str, Any] = {"options": options}
        elif verb == "reformulate":
            query = self.catalogue.parse(arg)
            act, said = user.judge(query.descriptors, query.constraints)
            record = {"query": query.text()}
        elif verb == "help":
            act, said = user.helped(arg)
            record = {}
        elif verb == "ask":
            act, said = user.asked()
            record = {}
        else:
            ids = list(dict.fromkeys(_ID.findall(arg.upper())))
            unknown = [i for i in ids if i not in self.catalogue.resources]
            if unknown:
                raise ValueError(f"no resource {', '.join(unknown)} in the catalogue")
            act, said, self.satisfied = user.shown(ids)
            self.empty_answers += not ids
            self.delivered += [i for i in ids if i not in self.delivered]
            record = {"ids": ids}
        user.state.turns += 1
        if not self.satisfied and user.state.turns >= self.max_turns:
            self.left = True
            said += " I will stop here."
        self.acts.append({"by": "agent", "act": verb, **record})
        self.acts.append({"by": "user", "act": act, "text": said})
        done = self.satisfied or self.left
        return StepOutcome(Observation(f"User: {said}", {"turn": user.state.turns}), 1.0 if self.satisfied else 0.0,
                           done, {**self._info(), "action": f"{verb} {arg.strip()} at turn {user.state.turns}"})

    def _info(self) -> dict[str, Any]:
        return {"acts": list(self.acts), "turns": self.user.state.turns, "searches": self.searches,
                "satisfied": self.satisfied, "delivered": list(self.delivered), "empty_answers": self.empty_answers}

    def snapshot(self) -> dict[str, Any]:
        return _json.loads(_json.dumps({**self._info(), "stated": self.user.state.stated, "left": self.left}))

    def restore(self, state: dict[str, Any]) -> None:
        self.user = SimulatedUser(self.catalogue, self.data, UserState(list(state["stated"]), state["turns"]))
        self.acts, self.searches = list(state["acts"]), state["searches"]
        self.satisfied, self.left = state["satisfied"], state["left"]
        self.delivered, self.empty_answers = list(state["delivered"]), state["empty_answers"]

    async def close(self) -> None:
        pass


class CatalogueSearch:
    """Needs to find in the catalogue by dialogue with a simulated user (`Environment` and `StepEnvironment`)."""

    name = "catalogue-search"
    answer_kind = "tool-calls"
    rules = EpisodeRules(max_steps=40)  # ours: searches are steps too, besides the user's turns

    def __init__(self, tasks_file: str | Path | None = None, *, catalogue: str | Path | None = None,
                 max_turns: int = MAX_TURNS) -> None:
        if max_turns < 1:
            raise ConfigError(f"catalogue-search: max_turns must be at least 1, got {max_turns}")
        self.catalogue = load(str(catalogue or CATALOGUE))
        self.needs = {t["id"]: t for t in load_tasks(str(tasks_file or TASKS))}
        self.max_turns = max_turns
        for t in self.needs.values():
            missing = [i for i in t["target"] if i not in self.catalogue.resources]
            if missing or t["need"]["topic"] not in self.catalogue.terms:
                raise ConfigError(f"catalogue-search: task {t['id']!r} names what the catalogue lacks "
                                  f"({', '.join(missing) or t['need']['topic']})")

    def tasks(self) -> list[Task]:
        return [Task(self.name, tid, "Help the user find a resource in the health catalogue that meets their need.",
                     list(t["target"]), {"kind": t["kind"], "opening": t["opening"]})
                for tid, t in self.needs.items()]

    def need(self, task: Task) -> dict[str, Any]:
        try:
            return self.needs[task.id]
        except KeyError:
            raise UserError(f"catalogue-search: no task {task.id!r}") from None

    def action_space(self, task: Task) -> ActionSpace:
        return SPACE

    def step_episode(self, task: Task) -> CatalogueEpisode:
        return CatalogueEpisode(self.catalogue, self.need(task), self.max_turns)

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=f"User: {self.need(task)['opening']}")

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        """Success when a target was shown; the details: turns, searches, the dialogue acts, empty answers."""
        progress = stepping.progress_of(episode)
        info = (episode.state.get("info") or {}) if progress.steps else {}
        satisfied = bool(info.get("satisfied"))
        details = {"turns": info.get("turns", 0), "searches": info.get("searches", 0),
                   "empty_answers": info.get("empty_answers", 0), "delivered": info.get("delivered", []),
                   "target": list(episode.task.gold), "acts": info.get("acts", []), "steps": progress.steps,
                   "stopped": progress.stopped}
        return Score(1.0 if satisfied else 0.0, satisfied, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The need's own query, searched, then its targets shown."""
        need = self.need(task)["need"]
        query = "; ".join([need["topic"], *(f"{k}={v}" for k, v in need.items() if k != "topic")])
        return stepping.oracle_replies([f"search [{query}]", f"show [{', '.join(task.gold)}]"], agent,
                                       answer="The user found what they needed.")
