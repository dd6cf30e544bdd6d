"""Agentless (`agentless`): localize, repair by sampling search/replace edits, validate with tests, vote.

Xia et al. 2024, "Agentless: Demystifying LLM-based Software Engineering Agents" (arXiv:2407.01489),
as its code runs it (OpenAutoCoder/Agentless @5ce5888, `README_swebench.md`; `agentless/fl/{localize,
FL,combine}.py`, `agentless/repair/{repair,rerank}.py`, `agentless/test/*.py`, `agentless/util/
{preprocess_data,postprocess_data,compress_file}.py`). No agent loop: a fixed pipeline of model calls.

1. Localize, narrowing step by step (test files and non-Python files are left out of the tree):
   a. files: the issue and the repository tree; the model names files (greedy). Optionally
      (`retriever`) an "irrelevant folders" call, a retrieval over the remaining files, and the
      two top-`top_n` lists merged by votes (`combine.py`).
   b. related elements: skeletons of the top `top_n` files (classes, signatures, globals; bodies
      elided); the model names classes, functions and variables (greedy; while none resolves to
      code, asked again at T=1.0, up to 5 calls in all).
   c. edit locations: the code around those elements (±`context_window` lines, numbered); the
      model names functions and lines, `location_samples` times at `location_temperature` (all
      asked again at T=1.0 while no sample resolves, up to 5 rounds). Each sample is one
      location set (`--merge`).
2. Repair: per location set, the code around its locations (±`context_window` lines, no
   numbers) and a chain-of-thought prompt for SEARCH/REPLACE edits; `repair_samples` samples
   (1 greedy + the rest at `temperature`). Edits apply only inside the shown windows; a sample
   whose result does not parse, or differs only in blank lines, is an empty patch.
3. Validate: the visible tests that pass on the original repository, less those the model says
   the fix may change, are the regression tests; each patch's count of failing ones is kept.
   `reproduction_samples` reproduction programs (1 greedy + the rest at `temperature`) run on the
   original; those printing "Issue reproduced" (and neither "Issue resolved" nor "Other issues")
   are voted on after normalisation, and the winner runs on every patch ("Issue resolved" passes).
4. Rerank (`rerank.py` `majority_voting`): keep the non-empty patches with the fewest regression
   failures; of those, the ones passing the reproduction test (if none do, all of them); then a
   majority vote over normalised patches, ties to the one seen first; the answer is the first
   raw patch of the winning group. Candidates are ordered as upstream loads them: sample 0 of
   every location set, then sample 1 of every set, and so on.

Normalisation (`postprocess_data.normalize_patch`): each edited file before and after is parsed and
unparsed (comments and formatting go), string statements (docstrings) are dropped, blank lines are
dropped, and the diff of the two is the key; a patch that only adds functions keeps only its +/-
lines. Reproduction programs are normalised the same way, with their test function renamed.

Constants (defaults of `build`; [code] = README_swebench.md commands and the scripts' defaults):
`top_n=3`, `context_window=10`, `location_samples=4` at `location_temperature=0.8`,
`repair_samples=10` (1 greedy + 9) at `temperature=0.8` → 40 candidate patches;
`reproduction_samples=40` (1 greedy + 39 at 0.8); `max_retries=5` at `retry_temperature=1.0`;
skeletons compress assignments over 30 lines to their first and last 10 (`--compress_assign`);
max tokens: localization 300, irrelevant folders 2048, repair, test selection and reproduction 1024.

Where this differs from the code, and why:
- Versions: the paper's v1 abstract (arXiv 2407.01489v1) has two phases, localization then repair,
  27.33% on SWE-bench Lite at $0.34; its v2 abstract (= the repository's v1.5) adds a third, patch
  validation with regression and reproduction tests, 32.00% at $0.70. Default: the code (v1.5);
  `reproduction=False` keeps the existing tests and the vote, our reading of v1's selection
  [unverified: from the abstracts and the old README, not v1's code].
- Upstream takes the fewest regression failures over *all* samples, empty patches included, and
  an empty patch fails none, so when every real patch fails one test it votes over all of them,
  regardless of failures. Here the minimum is over non-empty patches: a patch failing more
  regression tests than another is never chosen. A patch that does not apply fails them all.
- Embedding retrieval (OpenAI `text-embedding-3-small` over code chunks) is off by default: no
  embedder ships; pass `retriever(issue, files) -> ranked paths` to add it.
- Samples are separate requests (upstream asks once with n=9); with a seed, sample i gets seed + i.
- Identical patches (and identical reproduction programs) are run once; tests are deterministic,
  so every sample still gets its result. Files of a patch are listed in path order. "..." inside a
  SEARCH block (upstream's `parse_for_threedots`) is not special-cased.

The environment must offer the repository tools of `agentzoo.envs.seeded_bugs`: `list_files`,
`read_file`, `run_tests(patch, tests)` and `run_script(code, patch)`. The answer is the chosen patch
as a unified diff ("" when no sample produced one). `system` is not used: the paper has no system
prompt, and an environment's system prompt speaks to agents that call tools themselves.

Scopes (each role its own, branches numbered): `files`, `irrelevant`, `related`, `lines#i`,
`repair#k/sample#j`, `select_tests`, `reproduce#i` for model calls; `repo` (reading), `tests/baseline`,
`tests/regression#i`, `tests/reproduce#i`, `tests/resolve#i` for tool calls.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import difflib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import replies
from .._json import dumps_str
from ..tools.calling import call_tool
from ..agents.tool_calling import AgentResult
from ..errors import ConfigError, SandboxError, ToolError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..tools import ToolSet
from ..teams.parallel import gather
from ..types import ModelRequest, ToolCall

PROMPTS = Path(__file__).parent / "prompts" / "agentless"
ANSWER_KINDS = ("patch",)  # needs the repository tools of seeded-bugs
TOP_N = 3                    # combine.py / localize.py / repair.py --top_n 3
CONTEXT_WINDOW = 10          # --context_window 10 (localize.py default; repair.py command)
LOCATION_SAMPLES = 4         # localize.py --fine_grain_line_level --num_samples 4
LOCATION_TEMPERATURE = 0.8   # ... --temperature 0.8
REPAIR_SAMPLES = 10          # repair.py --max_samples 10: 1 greedy + 9 sampled
TEMPERATURE = 0.8            # repair.py and generate_reproduction_tests.py sampled calls
REPRODUCTION_SAMPLES = 40    # generate_reproduction_tests.py --max_samples 40
MAX_RETRIES = 5              # localize.py MAX_RETRIES
RETRY_TEMPERATURE = 1.0      # localize.py: "set trying temp to 1 to get valid locs"
COMPRESS_ASSIGN = (30, 10, 10)  # --compress_assign_{total,prefix,suffix}_lines defaults
MAX_TOKENS = {"files": 300, "irrelevant": 2048, "related": 300, "lines": 300, "repair": 1024,
              "select_tests": 1024, "reproduce": 1024}  # FL.py max_tokens=300; the others as named
TEST_CONCURRENCY = 4         # test runs at once (ours; upstream runs Docker containers in a pool)
REPRODUCED, RESOLVED, OTHER = "Issue reproduced", "Issue resolved", "Other issues"

PRESETS: dict[str, dict[str, Any]] = {
    "v1.5": {"regression": True, "reproduction": True},   # the repository (arXiv v2): 32.00% on Lite
    "v1": {"regression": True, "reproduction": False},    # arXiv v1's abstract: 27.33% on Lite [unverified]
}
DEFAULT_PRESET = "v1.5"
OPTION_SOURCES: dict[str, str] = {
    "top_n": "code: combine.py / localize.py / repair.py --top_n 3",
    "context_window": "code: --context_window 10 (localize.py default; repair.py command)",
    "location_samples": "code: localize.py --fine_grain_line_level --num_samples 4",
    "location_temperature": "code: localize.py --temperature 0.8",
    "repair_samples": "code: repair.py --max_samples 10 (1 greedy + 9 sampled) per location set: 40 patches",
    "temperature": "code: repair.py and generate_reproduction_tests.py sampled calls at 0.8",
    "reproduction_samples": "code: generate_reproduction_tests.py --max_samples 40",
    "regression": "code: run_regression_tests.py + select_regression_tests.py (README_swebench.md)",
    "reproduction": "code (v1.5): reproduction tests; arXiv v1's abstract has none (preset v1)",
    "max_retries": "code: localize.py MAX_RETRIES = 5",
    "retry_temperature": "code: localize.py 'set trying temp to 1 to get valid locs'",
    "max_tokens": "code: FL.py max_tokens=300 (localization), 2048 (irrelevant folders), 1024 (repair, tests)",
    "retriever": "code: embedding retrieval (text-embedding-3-small) over code chunks; off here: no embedder ships",
}
DEVIATIONS: list[str] = [
    "the fewest regression failures are taken over non-empty patches, so a patch failing more regression tests than "
    "another is never chosen (upstream's minimum includes empty patches, which fail none)",
    "embedding retrieval is off by default (no embedder ships); pass a retriever to add it",
    "samples are separate requests (upstream asks once with n=9); with a seed, sample i gets seed + i",
    "identical patches and identical reproduction programs are run once (tests are deterministic)",
    "'...' inside a SEARCH block (upstream's parse_for_threedots) is not special-cased",
    "preset v1 is our reading of arXiv v1's abstract (regression tests and the vote, no reproduction tests), not v1's "
    "code [unverified]",
]

T = TypeVar("T")
Retriever = Callable[[str, dict[str, str]], Sequence[str]]
"""`(issue, {path: text}) -> paths, most relevant first`: the retrieval half of file localization."""


# --- views of the code: tree, skeletons, locations, windows ---------------------------------------


def is_test_path(path: str) -> bool:
    """Upstream's `filter_out_test_files`: any part of the path starting with "test"."""
    return any(part.startswith("test") for part in path.split("/"))


def show_structure(paths: Sequence[str]) -> str:
    """The tree of `paths` as upstream prints it: folders end with "/", 4 spaces per level."""
    lines: list[str] = []
    shown: set[tuple[str, ...]] = set()
    for path in sorted(paths):
        parts = path.split("/")
        for depth in range(len(parts)):
            key = tuple(parts[:depth + 1])
            if key not in shown:
                shown.add(key)
                lines.append(" " * 4 * depth + parts[depth] + ("" if depth == len(parts) - 1 else "/"))
    return "\n".join(lines)


def skeleton(code: str, *, compress: tuple[int, int, int] | None = COMPRESS_ASSIGN) -> str:
    """Classes, function signatures and module assignments, function bodies elided (`...`),
    class docstrings and everything else dropped; assignments longer than `compress[0]` lines
    keep their first and last lines (`compress_file.get_skeleton` with `compress_assign`)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            parts.append(ast.unparse(_elide(node)))
        elif isinstance(node, ast.Assign):
            text = ast.get_source_segment(code, node) or ast.unparse(node)
            lines = text.split("\n")
            if compress and len(lines) - 1 > compress[0]:
                lines = lines[:compress[1]] + ["..."] + lines[-compress[2]:]
            parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _elide(node: ast.AST) -> ast.AST:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _with_body(node, [ast.Expr(ast.Constant(...))])
    assert isinstance(node, ast.ClassDef)
    body = [_elide(n) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else n
            for n in node.body if not _is_string_statement(n)]
    return _with_body(node, body or [ast.Expr(ast.Constant(...))])


def _with_body(node: Any, body: list[ast.stmt]) -> Any:
    twin = copy.copy(node)
    twin.body = body
    return twin


def _is_string_statement(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


@dataclass
class CodeIndex:
    """Line spans (1-based, inclusive) of a file's classes, methods, functions and globals."""

    classes: dict[str, tuple[int, int]] = field(default_factory=dict)
    methods: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)
    variables: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, code: str) -> CodeIndex:
        index = cls()
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return index
        for node in tree.body:
            span = (node.lineno, node.end_lineno or node.lineno)
            if isinstance(node, ast.ClassDef):
                index.classes[node.name] = span
                index.methods[node.name] = {m.name: (m.lineno, m.end_lineno or m.lineno) for m in node.body
                                            if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                index.functions[node.name] = span
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            index.variables[name.id] = span
        return index


def resolve(locations: str, code: str) -> list[tuple[int, int]]:
    """The line spans that `class: / function: / line: / variable:` entries name in `code`
    (`preprocess_data.transfer_arb_locs_to_locs`); entries that name nothing are dropped."""
    index, spans, current_class = CodeIndex.of(code), [], ""
    for raw in locations.splitlines():
        loc = raw.strip()
        if loc.startswith("class: ") and "." not in loc:
            name = loc[len("class: "):].strip()
            if name in index.classes:
                spans.append(index.classes[name])
                current_class = name
        elif loc.startswith("function: ") or "." in loc:
            name = loc.split(":", 1)[-1].strip()
            if "." in name:
                owner, method = name.split(".", 1)
                span = index.methods.get(owner, {}).get(method.split(".")[0])
            elif name in index.functions:
                span = index.functions[name]
            elif current_class:
                span = index.methods.get(current_class, {}).get(name)
            else:
                found = [m[name] for m in index.methods.values() if name in m]
                span = found[0] if len(found) == 1 else None
            if span:
                spans.append(span)
        elif loc.startswith("line: "):
            number = loc[len("line: "):].strip().split()
            if number and number[0].isdigit():
                spans.append((int(number[0]), int(number[0])))
        elif loc.startswith("variable:"):
            spans += [index.variables[v] for v in loc[len("variable:"):].split() if v in index.variables]
    return spans


def windows(spans: Sequence[tuple[int, int]], n_lines: int, context: int) -> list[tuple[int, int]]:
    """Each span widened by `context` lines each side (clipped to the file), overlapping ones merged."""
    widened = sorted((min(max(s - context, 0), n_lines), max(min(e + context, n_lines), 0)) for s, e in spans)
    merged: list[tuple[int, int]] = []
    for start, end in widened:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def show_windows(code: str, spans: Sequence[tuple[int, int]], *, numbers: bool) -> str:
    """The lines of `code` inside `spans`, "..." for what is left out (`line_wrap_content`)."""
    lines = code.splitlines()
    shown: list[str] = []
    for start, end in spans:
        if start != 0:
            shown.append("...")
        for number in range(max(start, 1), min(end, len(lines)) + 1):
            shown.append(f"{number}|{lines[number - 1]}" if numbers else lines[number - 1])
    if spans and spans[-1][1] != len(lines):
        shown.append("...")
    return "\n".join(shown)


def code_context(locations: Mapping[str, str], contents: Mapping[str, str], context: int, *,
                 numbers: bool) -> tuple[str, dict[str, list[tuple[int, int]]]]:
    """The prompt text for the files with resolvable locations, and each file's windows
    (`repair.construct_topn_file_context`); files whose locations name nothing are left out."""
    text, spans_of = "", {}
    for path, locs in locations.items():
        if path not in contents:
            continue
        spans = resolve(locs, contents[path])
        if spans:
            spans_of[path] = windows(spans, len(contents[path].splitlines()), context)
            text += f"### {path}\n{show_windows(contents[path], spans_of[path], numbers=numbers)}\n\n\n"
    return text.rstrip(), spans_of


def code_blocks(text: str) -> list[str]:
    """Unlabelled ``` blocks; if none, the text after the first ``` (`extract_code_blocks`)."""
    blocks = replies.regex_blocks(text)  # upstream's own pattern, kept: see `replies.regex_blocks`
    if not blocks and "```" in text:
        return [text.split("```", 1)[-1].strip()]
    return blocks


def parse_locations(text: str, paths: Sequence[str]) -> dict[str, str]:
    """Location lines per file: a line ending in ".py" opens a file (`extract_locs_for_files`)."""
    found: dict[str, list[str]] = {}
    current = None
    for block in code_blocks(text):
        for line in block.splitlines():
            if line.strip().endswith(".py"):
                current = line.strip()
            elif line.strip() and line.startswith(("line:", "function:", "class:", "variable:")) and current in paths:
                found.setdefault(current, []).append(line)
    return {path: "\n".join(found.get(path, [])) for path in [*found, *[p for p in paths if p not in found]]}


def has_location(locations: Mapping[str, str], contents: Mapping[str, str]) -> bool:
    """At least one location resolves to lines (`check_contains_valid_loc`)."""
    return any(resolve(locs, contents[path]) for path, locs in locations.items() if path in contents)


# --- edits and patches -----------------------------------------------------------------------------


def parse_edits(text: str) -> dict[str, list[tuple[str, str]]]:
    """SEARCH/REPLACE edits per file from the ```python blocks of a reply, duplicates dropped
    (`split_edit_multifile_commands`); a `### path` line names the file for the edits after it."""
    edits: dict[str, list[tuple[str, str]]] = {}
    for block in replies.regex_blocks(text, "python"):
        path = None
        for chunk in block.split(">>>>>>> REPLACE")[:-1]:
            head, sep, body = chunk.strip().partition("<<<<<<< SEARCH")
            if not sep:
                continue
            path = head.strip().lstrip("#").strip() or path
            pair = "\n".join(body.split("\n")[1:]).split("\n=======\n")  # the lines after the SEARCH line
            if path is None or len(pair) != 2:
                continue
            if tuple(pair) not in edits.setdefault(path, []):
                edits[path].append((pair[0], pair[1]))
    return edits


def apply_edits(content: str, edits: Sequence[tuple[str, str]], spans: Sequence[tuple[int, int]]) -> str:
    """`content` with the edits applied inside `spans` only, the last span first; an edit whose
    SEARCH lines are not in a span changes nothing (`parse_diff_edit_commands`)."""
    lines = content.split("\n")
    for start, end in sorted(spans, reverse=True):
        start = max(start - 1, 0)
        segment = "\n" + "\n".join(lines[start:end]) + "\n"
        for search, replace in [e for e in edits if "\n" + e[0] + "\n" in segment][::-1]:
            segment = segment.replace("\n" + search + "\n", "\n" + replace + "\n")
        lines[start:end] = segment[1:-1].split("\n")
    return "\n".join(lines)


def make_patch(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """A `git diff` of the files that changed, in path order."""
    out = []
    for path in sorted(new):
        if new[path] == old.get(path):
            continue
        hunks = list(difflib.unified_diff(old.get(path, "").splitlines(True), new[path].splitlines(True),
                                          f"a/{path}", f"b/{path}"))
        out.append(f"diff --git a/{path} b/{path}\n")
        out += [h if h.endswith("\n") else h + "\n\\ No newline at end of file\n" for h in hunks]
    return "".join(out)


def normalize_code(code: str) -> str:
    """Parsed and unparsed (comments and layout go), string statements (docstrings) and blank
    lines dropped; kept with its docstrings if dropping them empties a body; as is if it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    plain = ast.unparse(tree)
    stripped = _drop_strings(ast.parse(plain))
    text = ast.unparse(stripped) if stripped is not None else plain
    return "\n".join(line for line in text.splitlines() if line.strip())


def _drop_strings(tree: ast.Module) -> ast.Module | None:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = [s for s in body if not _is_string_statement(s)]
                if not kept and not isinstance(node, ast.Module):
                    return None
                setattr(node, name, kept)
    return tree


def _functions(code: str) -> dict[str, str]:
    tree = ast.parse(code)
    found = {n.name: ast.unparse(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
        found.update({f"{cls.name}.{m.name}": ast.unparse(m) for m in cls.body
                      if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))})
    return found


def _only_adds_functions(old: str, new: str) -> bool:
    try:
        before, after = _functions(old), _functions(new)
    except (SyntaxError, ValueError):
        return False
    return all(after.get(name) == body for name, body in before.items()) and len(after) > len(before)


def normalize_patch(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """The voting key of a patch: the diff of the normalised files (`normalize_patch`)."""
    out = []
    for path in sorted(new):
        if new[path] == old.get(path):
            continue
        a, b = normalize_code(old.get(path, "")), normalize_code(new[path])
        diff = list(difflib.unified_diff(a.split("\n"), b.split("\n"), f"a/{path}", f"b/{path}", lineterm=""))
        if _only_adds_functions(a, b):
            diff = [line for line in diff if line.startswith(("+", "-"))]
        out.append("\n".join(diff))
    return "\n".join(out).strip()


def normalize_test(code: str) -> str:
    """A reproduction program's voting key: normalised, its test function called `test_func`."""
    text = normalize_code(code)
    called = re.match(r"([A-Za-z_][\w.]*)\(", text.splitlines()[-1]) if text else None
    return re.sub(rf"\b{re.escape(called.group(1))}\b", "test_func", text) if called else text


def first_python_block(text: str) -> str | None:
    """Upstream's `extract_first_code_block`: the first ```python block, even one on a single line."""
    found = replies.regex_blocks(text, "python", newlines=False)
    return found[0].strip() if found else None


# --- choosing the patch ----------------------------------------------------------------------------


@dataclass
class Candidate:
    """One sampled patch and what validation found."""

    patch: str
    """The unified diff ("" when the sample produced no usable edit)."""
    key: str
    """The normalised patch the vote compares."""
    regression_failures: int = 0
    """Regression tests it fails."""
    reproduced_fixed: bool = False
    """Whether the chosen reproduction test printed "Issue resolved" on it."""


def select_patch(candidates: Sequence[Candidate], *, regression: bool = True, reproduction: bool = True) -> int | None:
    """The index of the chosen candidate (`rerank.majority_voting`), None if every patch is empty.

    Non-empty patches with the fewest regression failures; of those, the ones that pass the
    reproduction test, unless none does; then the most common normalised patch, ties to the first.
    """
    ids = [i for i, c in enumerate(candidates) if c.key.strip()]
    if not ids:
        return None
    if regression:
        fewest = min(candidates[i].regression_failures for i in ids)
        ids = [i for i in ids if candidates[i].regression_failures == fewest]
    if reproduction:
        ids = [i for i in ids if candidates[i].reproduced_fixed] or ids
    votes = Counter(candidates[i].key for i in ids)
    first = {}
    for i in ids:
        first.setdefault(candidates[i].key, i)
    return max(ids, key=lambda i: (votes[candidates[i].key], -first[candidates[i].key]))


# --- the pipeline ----------------------------------------------------------------------------------


class Agentless:
    """Localize → repair by sampling → validate → vote; every call journaled in its role's scope."""

    name = "agentless"

    def __init__(self, model: Model, tools: Sequence[Any], *, sampling: dict[str, Any] | None = None,
                 top_n: int = TOP_N, context_window: int = CONTEXT_WINDOW, location_samples: int = LOCATION_SAMPLES,
                 location_temperature: float = LOCATION_TEMPERATURE, repair_samples: int = REPAIR_SAMPLES,
                 temperature: float = TEMPERATURE, reproduction_samples: int = REPRODUCTION_SAMPLES,
                 regression: bool = True, reproduction: bool = True, max_retries: int = MAX_RETRIES,
                 retry_temperature: float = RETRY_TEMPERATURE, max_tokens: Mapping[str, int | None] | None = None,
                 retriever: Retriever | None = None) -> None:
        for key, value in (("top_n", top_n), ("location_samples", location_samples),
                           ("repair_samples", repair_samples), ("max_retries", max_retries)):
            if value < 1:
                raise ConfigError(f"agentless: {key} must be at least 1, not {value}")
        if reproduction and reproduction_samples < 1:
            raise ConfigError("agentless: reproduction_samples must be at least 1 (or pass reproduction=False)")
        self.toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools, max_result_chars=200_000)
        needed = ["list_files", "read_file"] + ["run_tests"] * regression + ["run_script"] * reproduction
        missing = [n for n in needed if n not in self.toolset]
        if missing:
            raise ConfigError(f"agentless works on a repository and needs the tools {', '.join(needed)} (as the "
                              f"seeded-bugs environment gives them); missing: {', '.join(missing)}")
        self.model, self.sampling = model, dict(sampling or {})
        self.top_n, self.context_window = top_n, context_window
        self.location_samples, self.location_temperature = location_samples, location_temperature
        self.repair_samples, self.temperature, self.reproduction_samples = repair_samples, temperature, reproduction_samples
        self.regression, self.reproduction = regression, reproduction
        self.max_retries, self.retry_temperature = max_retries, retry_temperature
        self.max_tokens = {**MAX_TOKENS, **(max_tokens or {})}
        self.retriever = retriever

    async def run(self, task: str, ctx: Context) -> AgentResult:
        repo = ctx.child("repo")
        paths = [p for p in await self._tool(repo, "list_files") if p.endswith(".py") and not is_test_path(p)]
        files = await self._localize_files(task, paths, ctx, repo)
        if not files:  # upstream stops here: nothing to repair
            return AgentResult("", [], 0)
        contents = {p: await self._tool(repo, "read_file", path=p) for p in files}
        related = await self._related(task, contents, ctx)
        location_sets = await self._edit_locations(task, contents, related, ctx)
        candidates, prompts, replies = await self._repair(task, contents, location_sets, ctx)
        unique = list(dict.fromkeys(c.patch for c in candidates if c.key))
        tests, limit = ctx.child("tests"), asyncio.Semaphore(TEST_CONCURRENCY)
        if self.regression and unique:
            failures = await self._regression(task, unique, ctx, tests, limit)
            for c in candidates:
                c.regression_failures = failures.get(c.patch, 0)
        if self.reproduction and unique:
            fixed = await self._reproduction(task, unique, ctx, tests, limit)
            for c in candidates:
                c.reproduced_fixed = fixed.get(c.patch, False)
        chosen = select_patch(candidates, regression=self.regression, reproduction=self.reproduction)
        if chosen is None:
            return AgentResult("", [], len(candidates))
        messages = [{"role": "user", "content": prompts[chosen]}, {"role": "assistant", "content": replies[chosen]}]
        return AgentResult(candidates[chosen].patch, messages, len(candidates))

    # --- localization

    async def _localize_files(self, task: str, paths: list[str], ctx: Context, repo: Context) -> list[str]:
        structure = show_structure(paths)
        reply = await self._ask(ctx.child("files"), render(PROMPTS / "files.j2", issue=task, structure=structure),
                                "files", 0.0)
        lines = [line.strip() for line in reply.split("\n")]
        found = [p for p in dict.fromkeys(lines) if p in paths]
        if self.retriever is None:
            return found[:self.top_n]
        reply = await self._ask(ctx.child("irrelevant"),
                                render(PROMPTS / "irrelevant.j2", issue=task, structure=structure), "irrelevant", 0.0)
        skip = [line.strip() for line in reply.split("\n") if line.strip().endswith(("/", ".py"))]
        kept = [p for p in paths if not any(p.startswith(s) for s in skip)]
        texts = {p: await self._tool(repo, "read_file", path=p) for p in kept}
        retrieved = [p for p in self.retriever(task, texts) if p in texts]
        votes = Counter(found[:self.top_n]) + Counter(retrieved[:self.top_n])
        return [p for p, _ in votes.most_common()][:self.top_n]

    async def _related(self, task: str, contents: dict[str, str], ctx: Context) -> dict[str, str]:
        shown = "".join(f"### File: {p} ###\n```python\n{skeleton(c)}\n```\n" for p, c in contents.items())
        prompt = render(PROMPTS / "related.j2", issue=task, skeletons=shown)
        scope, temperature, found = ctx.child("related"), 0.0, {}
        for _ in range(self.max_retries):
            found = parse_locations(await self._ask(scope, prompt, "related", temperature), list(contents))
            if has_location(found, contents):
                break
            temperature = self.retry_temperature
        return found

    async def _edit_locations(self, task: str, contents: dict[str, str], related: dict[str, str],
                              ctx: Context) -> list[dict[str, str]]:
        code, _ = code_context(related, contents, self.context_window, numbers=True)
        prompt = render(PROMPTS / "lines.j2", issue=task, code=code)
        temperature, samples, n = self.location_temperature, [], self.location_samples
        for attempt in range(self.max_retries):
            scopes = [ctx.child("lines", attempt * n + i + 1) for i in range(n)]
            replies = await gather([self._ask(s, prompt, "lines", temperature, seed_offset=attempt * n + i)
                                    for i, s in enumerate(scopes)])
            samples = [parse_locations(r, list(contents)) for r in replies]
            if any(has_location(s, contents) for s in samples):
                break
            temperature = self.retry_temperature
        return [{p: locs for p, locs in s.items() if locs.strip()} for s in samples]

    # --- repair

    async def _repair(self, task: str, contents: dict[str, str], location_sets: list[dict[str, str]],
                      ctx: Context) -> tuple[list[Candidate], list[str], list[str]]:
        n, sets = self.repair_samples, len(location_sets)
        scopes = [[ctx.child("repair", k + 1).child("sample", j + 1) for j in range(n)] for k in range(sets)]
        jobs, prompts = [], []
        for k, locations in enumerate(location_sets):
            code, spans = code_context(locations, contents, self.context_window, numbers=False)
            prompt = render(PROMPTS / "repair.j2", issue=task, code=code) if code else ""
            prompts.append(prompt)
            for j in range(n):
                temperature = 0.0 if j == 0 else self.temperature
                jobs.append(self._sample_patch(scopes[k][j], prompt, temperature, k * n + j, contents, spans))
        results = await gather(jobs)  # set-major
        order = [k * n + j for j in range(n) for k in range(sets)]  # upstream's loading order
        return ([results[i][0] for i in order], [prompts[i // n] for i in order], [results[i][1] for i in order])

    async def _sample_patch(self, scope: Context, prompt: str, temperature: float, seed_offset: int,
                            contents: dict[str, str], spans: dict[str, list[tuple[int, int]]]) -> tuple[Candidate, str]:
        if not prompt:  # no location resolved: upstream writes an empty sample
            return Candidate("", ""), ""
        reply = await self._ask(scope, prompt, "repair", temperature, seed_offset=seed_offset)
        new = {path: apply_edits(contents[path], edits, spans[path])
               for path, edits in parse_edits(reply).items() if path in spans}
        old = {path: contents[path] for path in new}
        if not new or not _usable(old, new):
            return Candidate("", ""), reply
        return Candidate(make_patch(old, new), normalize_patch(old, new)), reply

    # --- validation

    async def _regression(self, task: str, patches: list[str], ctx: Context, tests: Context,
                          limit: asyncio.Semaphore) -> dict[str, int]:
        baseline = await self._tool(tests.child("baseline"), "run_tests", patch="")
        passing = list(baseline.get("passed", []))
        if not passing:
            return {}
        prompt = render(PROMPTS / "select_tests.j2", issue=task, tests="\n".join(passing))
        drop = {line.strip() for line in (await self._ask(ctx.child("select_tests"), prompt, "select_tests", 0.0)).split("\n")}
        selected = [t for t in passing if t not in drop]
        if not selected:
            return {}
        scopes = [tests.child("regression", i + 1) for i in range(len(patches))]
        runs = await gather([self._tests(limit, s, "run_tests", patch=p, tests=selected) for s, p in zip(scopes, patches)])
        return {p: len(selected) - len(set(r.get("passed", [])) & set(selected)) if r.get("applied") else len(selected)
                for p, r in zip(patches, runs)}

    async def _reproduction(self, task: str, patches: list[str], ctx: Context, tests: Context,
                            limit: asyncio.Semaphore) -> dict[str, bool]:
        prompt = render(PROMPTS / "reproduce.j2", issue=task)
        scopes = [ctx.child("reproduce", i + 1) for i in range(self.reproduction_samples)]
        replies = await gather([self._ask(s, prompt, "reproduce", 0.0 if i == 0 else self.temperature, seed_offset=i)
                                for i, s in enumerate(scopes)])
        programs = [first_python_block(r) for r in replies]
        unique = list(dict.fromkeys(p for p in programs if p))
        checks = [tests.child("reproduce", i + 1) for i in range(len(unique))]
        runs = await gather([self._tests(limit, s, "run_script", code=code, patch="") for s, code in zip(checks, unique)])
        reproduces = {code: _says(r, REPRODUCED) for code, r in zip(unique, runs)}
        verified = [p for p in programs if p and reproduces[p]]
        if not verified:
            return {}
        keys = [normalize_test(p) for p in verified]
        votes = Counter(keys)
        chosen = verified[max(range(len(verified)), key=lambda i: (votes[keys[i]], -keys.index(keys[i])))]
        scopes = [tests.child("resolve", i + 1) for i in range(len(patches))]
        runs = await gather([self._tests(limit, s, "run_script", code=chosen, patch=p) for s, p in zip(scopes, patches)])
        return {p: _says(r, RESOLVED) for p, r in zip(patches, runs)}

    # --- effects

    async def _ask(self, scope: Context, prompt: str, role: str, temperature: float, *, seed_offset: int = 0) -> str:
        scope.step()
        fields = {**self.sampling, "temperature": temperature}
        if fields.get("seed") is not None and seed_offset:
            fields["seed"] = int(fields["seed"]) + seed_offset
        if self.max_tokens.get(role):
            fields["max_tokens"] = self.max_tokens[role]
        response = await scope.model(self.model, ModelRequest(messages=[{"role": "user", "content": prompt}], **fields))
        return response.text

    async def _tests(self, limit: asyncio.Semaphore, scope: Context, name: str, **arguments: Any) -> Any:
        async with limit:
            return await self._tool(scope, name, **arguments)

    async def _tool(self, scope: Context, name: str, **arguments: Any) -> Any:
        call = ToolCall(id=f"agentless-{name}", name=name, arguments=dumps_str(arguments))
        outcome = await call_tool(scope, self.toolset, call, keep_value=True)
        if outcome.is_error:
            if outcome.error_type == "SandboxError":  # the machine's fault: the harness retries the sample
                raise SandboxError(outcome.content)
            raise ToolError(f"agentless: {name} failed: {outcome.content}")
        return outcome.value


def _usable(old: Mapping[str, str], new: Mapping[str, str]) -> bool:
    """Every edited file parses and is not empty, and the edit is more than blank lines
    (`check_syntax`, `check_code_differ_by_just_empty_lines`)."""
    for text in new.values():
        if not text.strip():
            return False
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return False
    blank_free = ["".join(line for line in t.splitlines() if line.strip()) for t in (*old.values(), *new.values())]
    return blank_free[:len(old)] != blank_free[len(old):]


def _says(run: Mapping[str, Any], wanted: str) -> bool:
    """Upstream's reading of a reproduction run: `wanted` printed and neither other verdict."""
    output = str(run.get("output", "")) if run.get("applied") else ""
    return wanted in output and not any(v in output for v in (REPRODUCED, RESOLVED, OTHER) if v != wanted)


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, top_n: int = TOP_N, context_window: int = CONTEXT_WINDOW,
          location_samples: int = LOCATION_SAMPLES, location_temperature: float = LOCATION_TEMPERATURE,
          repair_samples: int = REPAIR_SAMPLES, temperature: float = TEMPERATURE,
          reproduction_samples: int = REPRODUCTION_SAMPLES, regression: bool = True, reproduction: bool = True,
          max_retries: int = MAX_RETRIES, retry_temperature: float = RETRY_TEMPERATURE,
          max_tokens: Mapping[str, int | None] | None = None, retriever: Retriever | None = None) -> Agentless:
    """Agentless with the repository's constants (v1.5); `reproduction=False` for the v1 pipeline.

    `max_tokens` overrides the cap of a role (`files`, `irrelevant`, `related`, `lines`, `repair`,
    `select_tests`, `reproduce`; None: no cap). `system` is ignored (see the module docstring).
    """
    return Agentless(model, tools, sampling=sampling, top_n=top_n, context_window=context_window,
                     location_samples=location_samples, location_temperature=location_temperature,
                     repair_samples=repair_samples, temperature=temperature,
                     reproduction_samples=reproduction_samples, regression=regression, reproduction=reproduction,
                     max_retries=max_retries, retry_temperature=retry_temperature, max_tokens=max_tokens,
                     retriever=retriever)
