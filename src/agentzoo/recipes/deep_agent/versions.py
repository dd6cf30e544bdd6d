"""The prompt-version store: which version of a role's prompt to use, learned from how the nodes fared.

Deep Agent's Prompt Tweaking Engine adapts an original prompt to a scenario, and its Autonomous Prompt
Feedback Learning keeps the versions that work [paper]. Offline, a version is one of the shipped tweaks of
a role's prompt (`prompts/tweaks/<role>/<name>.j2`: a paragraph the role's prompt adds; `base` adds
nothing), and the feedback is the outcome of what the prompt asked for: a node the executor finished
(`execute`), a first plan none of whose nodes had to be re-planned (`plan`).

The choice is the tweak with the highest smoothed success rate, (successes + 1) / (uses + 2) (Laplace's
rule of succession; ours), ties going to the one used least, then to the first by name (`base` first), so
every tweak is tried before one is preferred.

Both the choice and each outcome are journaled effects (kind `prompts`): a replay shows the same tweaks
with no store, and a resumed run's store learns the outcomes it serves. With a `path`, the store appends
one JSON line per outcome to that file, so the next run (the next sample of an eval) learns from this
one; without a path it lives as long as the agent does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError
from ...prompts import render
from ...runtime.context import Context

TWEAKS = Path(__file__).parent / "prompts" / "tweaks"
BASE = "base"
ROLES = ("plan", "execute")


@cache
def tweaks(role: str) -> tuple[str, ...]:
    """The shipped tweaks of `role`'s prompt, `base` first."""
    names = sorted(p.stem for p in (TWEAKS / role).glob("*.j2"))
    if BASE not in names:
        raise ConfigError(f"deep-agent: the prompt role {role!r} has no tweaks (known roles: {', '.join(ROLES)})")
    return (BASE, *(n for n in names if n != BASE))


def tweak_text(role: str, name: str) -> str:
    return render(TWEAKS / role / f"{name}.j2")


@dataclass
class PromptStore:
    """Outcomes per role and tweak, in memory and, with `path`, in a JSON-lines file."""

    path: Path | None = None
    _memory: list[dict[str, Any]] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return self._read() if self.path is not None else list(self._memory)

    def stats(self, role: str) -> dict[str, tuple[int, int]]:
        """Per tweak of `role`: (uses, successes)."""
        counts = {name: [0, 0] for name in tweaks(role)}
        for record in self.records():
            if record["role"] == role and record["tweak"] in counts:
                counts[record["tweak"]][0] += 1
                counts[record["tweak"]][1] += bool(record["ok"])
        return {name: (uses, ok) for name, (uses, ok) in counts.items()}

    def choose(self, role: str) -> str:
        stats = self.stats(role)
        order = {name: i for i, name in enumerate(tweaks(role))}
        return max(stats, key=lambda n: ((stats[n][1] + 1) / (stats[n][0] + 2), -stats[n][0], -order[n]))

    def add(self, record: dict[str, Any]) -> None:
        if self.path is None:
            self._memory.append(record)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(_json.dumps_str(record) + "\n")

    def served(self, record: dict[str, Any]) -> None:
        """An outcome served from the journal: a file already holds it, memory learns it again."""
        if self.path is None:
            self._memory.append(record)

    def _read(self) -> list[dict[str, Any]]:
        assert self.path is not None
        if not self.path.exists():
            return []
        found = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = _json.loads(line)
                if not (isinstance(record, dict) and isinstance(record["role"], str)
                        and isinstance(record["tweak"], str) and isinstance(record["ok"], bool)):
                    raise TypeError("not a record")
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"deep-agent prompt store {self.path}:{n}: expected "
                                  f'{{"role", "tweak", "ok"}} ({exc})') from None
            found.append(record)
        return found


async def choose(ctx: Context, store: PromptStore, role: str) -> str:
    """The tweak `role`'s next prompt uses, as a journaled choice."""
    async def perform() -> str:
        return store.choose(role)

    return await ctx.effect("prompts", "choose", {"role": role, "tweaks": list(tweaks(role))}, perform, local=True)


async def record(ctx: Context, store: PromptStore, role: str, tweak: str, ok: bool) -> None:
    """One outcome of a prompt that used `tweak`, journaled; a file store is written once (not on replay)."""
    outcome = {"role": role, "tweak": tweak, "ok": ok}

    async def perform() -> dict[str, Any]:
        store.add(outcome)
        return outcome

    await ctx.gateway.effect(ctx.scope, "prompts", "outcome", outcome, perform, local=store.path is None,
                             on_served=store.served)
