"""agent-defects: small LLM agents written for this project, some with labelled defects, to find them in.

A stand-in for Agentable's AgentTest (PAPERS.md #29: 78 agents built to hold known defects, not shipped here):
twenty sample agents (`samples/*.py.txt`) in the idioms agent code is written in (agentzoo tools and
`ctx.model`, the OpenAI client, LangChain `@tool`), fifteen with one or two defects of the eight types
(`agentzoo.analysis.DEFECT_TYPES`; 19 labels, every type at least once) and five clean ones. A defect's label is
a trailing `# defect: <type>[, <type>]` comment on its line in the sample file; the task shows the code without
those comments, lines unchanged.

Answer kind `text`: the answer names each defect as `<type> line <N>` (or says `Defects: none`). Scoring matches
named (type, line) pairs with the labels, a line within `LINE_SLACK` of the label counting. Per sample: reward
= F1 of the pairs (1 for a clean agent answered clean), success = every label found and nothing else. Over a
run: `metrics(rows)` gives per-type precision, recall and F1, and accuracy (the share of agents reported
exactly), the paper's figures being precision 88.79% and recall 91.03% on AgentTest [paper].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ...analysis.defects import TYPE_IDS
from ...errors import ConfigError
from ..base import AnswerContract, Episode, Score, ScoringContext, Task, final_reply

SAMPLES = Path(__file__).parent / "samples"
LINE_SLACK = 1  # ours: a decorator line or a wrapped call's first line next to the labelled one still counts
_MARK = re.compile(r"\s*# defect: ([a-z-]+(?:\s*,\s*[a-z-]+)*)\s*$")
_FOUND = re.compile(rf"\b({'|'.join(map(re.escape, TYPE_IDS))})\b\W{{0,3}}(?:at\s+)?line\s*(\d+)", re.IGNORECASE)
CONTRACT = AnswerContract(
    kind="text",
    instruction=("name each defect on a line of its own as `<type> line <N>` with <type> one of "
                 f"{', '.join(TYPE_IDS)}, or answer `Defects: none`"),
    accepts=("every `<type> line <N>` in the answer, anywhere, any case",))
INSTRUCTION = f"Find the defects in this LLM agent's code. Then {CONTRACT.instruction}."


def labelled(text: str) -> tuple[str, list[tuple[str, int]]]:
    """The code without its `# defect:` comments, and the (type, line) labels they gave."""
    lines, labels = [], []
    for number, line in enumerate(text.splitlines(), 1):
        mark = _MARK.search(line)
        if mark:
            labels += [(t.strip(), number) for t in mark.group(1).split(",")]
            line = line[:mark.start()]
        lines.append(line)
    return "\n".join(lines) + "\n", labels


def gold_report(labels: Iterable[tuple[str, int]]) -> str:
    pairs = sorted(labels, key=lambda p: (p[1], p[0]))
    return "Defects: " + ("; ".join(f"{t} line {n}" for t, n in pairs) if pairs else "none")


def read_findings(answer: str | None) -> list[tuple[str, int]]:
    return sorted({(t.lower(), int(n)) for t, n in _FOUND.findall(answer or "")}, key=lambda p: (p[1], p[0]))


def match(predicted: list[tuple[str, int]], gold: list[tuple[str, int]]) -> dict[str, list[int]]:
    """Per type [tp, fp, fn]: each gold label matched by at most one prediction of its type within LINE_SLACK."""
    counts: dict[str, list[int]] = {}
    left = list(gold)
    for kind, line in predicted:
        hit = next((g for g in sorted(left, key=lambda g: abs(g[1] - line))
                    if g[0] == kind and abs(g[1] - line) <= LINE_SLACK), None)
        c = counts.setdefault(kind, [0, 0, 0])
        if hit:
            left.remove(hit)
            c[0] += 1
        else:
            c[1] += 1
    for kind, _ in left:
        counts.setdefault(kind, [0, 0, 0])[2] += 1
    return counts


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def metrics(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-type and overall precision/recall/F1 over score details (`counts`), and accuracy: the share of agents
    whose report matched their labels exactly."""
    rows = list(rows)
    per: dict[str, list[int]] = {t: [0, 0, 0] for t in TYPE_IDS}
    for row in rows:
        for kind, c in (row.get("counts") or {}).items():
            total = per.setdefault(kind, [0, 0, 0])
            for i in range(3):
                total[i] += c[i]
    overall = [sum(c[i] for c in per.values()) for i in range(3)]
    exact = sum(1 for r in rows if r.get("exact"))
    return {"types": {k: _prf(*c) for k, c in per.items()}, "overall": _prf(*overall),
            "accuracy": exact / len(rows) if rows else None, "agents": len(rows)}


class AgentDefects:
    name = "agent-defects"
    answer_kind = "text"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.folder = Path(tasks_file) if tasks_file else SAMPLES
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            files = sorted(self.folder.glob("*.py.txt")) if self.folder.is_dir() else []
            if not files:
                raise ConfigError(f"agent-defects samples {self.folder}: expected a folder of *.py.txt agents")
            self._tasks = [self._task(f) for f in files]
        return self._tasks

    def _task(self, path: Path) -> Task:
        try:
            code, labels = labelled(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"agent-defects sample {path}: cannot read it ({exc})") from None
        unknown = sorted({t for t, _ in labels} - set(TYPE_IDS))
        if unknown:
            raise ConfigError(f"agent-defects sample {path}: unknown defect type(s) {', '.join(unknown)}; "
                              f"known: {', '.join(TYPE_IDS)}")
        stem = path.name.removesuffix(".py.txt")
        prompt = f"{INSTRUCTION}\n\nFile: {stem}.py\n```python\n{code}```"
        return Task(self.name, f"agent-defects/{stem}", prompt, gold_report(labels),
                    {"file": f"{stem}.py", "defects": [list(p) for p in labels]})

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    def answer_contract(self, task: Task) -> AnswerContract:
        return CONTRACT

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        gold = [(t, n) for t, n in episode.task.data["defects"]]
        predicted = read_findings(answer)
        counts = match(predicted, gold)
        tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
        exact = answer is not None and fp == 0 and fn == 0
        reward = (1.0 if answer is not None else 0.0) if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
        return Score(reward, exact, {"predicted": [list(p) for p in predicted], "labels": [list(p) for p in gold],
                                     "counts": counts, "exact": exact, "answered": answer is not None})

    def oracle(self, task: Task, agent: str) -> list[Any]:
        return [final_reply(agent, task.gold)]
