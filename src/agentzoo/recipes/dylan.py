"""DyLAN (#41): a layered network of role-playing agents with peer ratings, a listwise ranker,
early stop on agreement and agent importance scores.

Liu, Zhang, Li, Yang: "A Dynamic LLM-Powered Agent Network for Task-Oriented Agent
Collaboration" (COLM 2024; arXiv 2310.02170). Constants checked against SALT-NLP/DyLAN
(`code/demo/{LLMLP,LLM_Neuron,prompt_lib,run_DyLAN,utils}.py`, `code/MMLU/llmlp_listwise_mmlu.py`,
commit ce6dd87):

| option | default | source |
|---|---|---|
| `roles` | 4 × `Assistant` | `run_DyLAN.py` `ROLES`; MMLU uses 7 (`exp_mmlu.sh`), MATH `ROLE_MAP_MATH` |
| `rounds` | 3 | `LLMLP(..., 3, ...)` in `run_DyLAN.py` and the MMLU/MATH scripts; `forward` asserts `rounds > 2` |
| `agreement` | 2/3 | `check_consensus`: count `> floor(2/3 · len(mask))`, checked once `idx >= floor(2/3 · agents)` |
| `top_k`, `select_from_round` | 2, 3 | `listwise_ranker_2` ("choose the best 2"), for `rid in range(2, rounds)` |
| `select_if_more_than` | 3 | `if self.agents > 3` before ranking |
| `temperature`, `max_tokens` | 1.0, 2048 | `prompt_lib.TEMPERATURE`, `MAX_TOKENS` |
| `similarity` | 0.9 | `GEN_THRESHOLD` (open-ended) and `CODE_THRESHOLD` (HumanEval): sentence BLEU ≥ 90 |
| rating → weight | s/5, normalised | `LLMNeuron.activate` (see `teams.layered.edge_weights`) |

The network, its early stop and the importance backward pass are `agentzoo.teams.layered`
(which lists where it departs from upstream's code, each time for the paper's behaviour). The
prompts are our own wording of upstream's (`prompts/dylan/*.j2`); the role names are upstream's
`ROLE_MAP`/`ROLE_MAP_MATH` keys with descriptions in our words (`roles.yaml`).

Answers are compared by kind (`answer=`): `choice` (the letter in "(X)", MMLU), `math` ("The
answer is …" or `\\boxed{…}`, normalised, MATH), `number` (GSM8K's `#### n`, else the last number),
`code` (the last fenced block, BLEU ≥ `similarity`), `text` (the whole reply, BLEU ≥ `similarity`),
or `auto` (number if the task asks for `####`, code if it asks for a ```python block, else text).
BLEU is our sentence BLEU-4 with sacrebleu's defaults (exponential smoothing, effective order,
lower-cased; tokens are words and single punctuation marks, close to its `13a` tokenizer).

Code generation has a network of its own (`task="code"`, preset `code`, and the default when the
environment's answers are code, `task_kind="code"`): coders with judges between their rounds (a
syntax checker, a unit-test writer, a reflector and a ranker), upstream's
`code/HumanEval/CoLLMLP.py`, with its own constants (4 coding roles, temperature 0.8, 1,024
tokens, the ranker from more than 2 coders); see `agentzoo.recipes._dylan_code`. A task in that
mode that asks for no function falls back to the general network with its defaults.

Team optimisation (paper §3.3): run the network on a few tasks with candidate roles, then keep
the roles with the highest summed agent importance (`select_team`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import Limits
from ..teams.layered import Activation, LayeredNetwork, NetworkResult, Node
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts" / "dylan"
ANSWER_KINDS = ("number", "text", "code")  # compared by kind: numbers, code and text (BLEU)
DEMO_ROLES = ("Assistant",) * 4
MMLU_ROLES = ("Economist", "Doctor", "Lawyer", "Mathematician", "Psychologist", "Programmer", "Historian")
TEMPERATURE, MAX_TOKENS, SELECT_IF_MORE_THAN = 1.0, 2048, 3  # code/demo: prompt_lib, LLMLP.forward

PRESETS: dict[str, dict[str, Any]] = {
    "general": {"task": "general"},   # the demo network (code/demo), whatever the task
    "code": {"task": "code"},         # the code-generation network (code/HumanEval)
    "mmlu": {"task": "general", "roles": list(MMLU_ROLES), "answer": "choice"},  # code/MMLU/exp_mmlu.sh
}
OPTION_SOURCES: dict[str, str] = {
    "task": "paper §4: code generation runs a network with judges (code/HumanEval/CoLLMLP.py); auto picks it when "
            "task_kind is 'code'",
    "roles": "code: run_DyLAN.py ROLES = 4 × Assistant; code network: exp_human_eval.sh ROLES (PythonAssistant, "
             "AlgorithmDeveloper, ComputerScientist, Programmer); MMLU: exp_mmlu.sh (7 roles)",
    "judges": "code: exp_human_eval.sh JUDGES = Passer, Tester, Reflector, Ranker (code network only)",
    "rounds": "code: LLMLP(..., 3, ...) and CoLLMLP(..., 3, ...); forward asserts rounds > 2",
    "agreement": "code: check_consensus, count > floor(2/3 · len(mask)), checked once idx >= floor(2/3 · agents)",
    "top_k": "code: listwise_ranker_2 ('choose the best 2')",
    "select_from_round": "code: for rid in range(2, rounds): the ranker from the 3rd round",
    "select_if_more_than": "code: `if self.agents > 3` (demo), `if self.agents > 2` (CoLLMLP)",
    "temperature": "code: prompt_lib.TEMPERATURE = 1.0 (demo), 0.8 (HumanEval)",
    "max_tokens": "code: prompt_lib.MAX_TOKENS = 2048 (demo), 1024 (HumanEval)",
    "similarity": "code: GEN_THRESHOLD and CODE_THRESHOLD = 0.9 (sentence BLEU >= 90)",
    "max_tests": "code: utils.parse_judge_attitude keeps at most 10 tests (code network)",
    "test_timeout": "code: utils.check_function_result(timeout=5.0) (code network)",
}
DEVIATIONS: list[str] = [
    "from round 3 the agents the ranker chose are the ones activated (upstream activates the shuffled positions it "
    "names, i.e. random agents)",
    "a round with no more than top_k nodes is not ranked (upstream's ranker asserts more than 2 replies)",
    "answers that do not parse never form a consensus (upstream counts None == None)",
    "with no correct node in the last round importances are 0 (upstream divides by zero)",
    "code network: the answer is the code of the last round that passes the most generated tests, the first on a tie "
    "(upstream reads the first round's nodes and picks at random among the best, or the best and one test fewer)",
    "code network: the Tester keeps the first 10 parsed asserts (upstream keeps 10 of a set, in no set order)",
    "BLEU is our own sentence BLEU-4 with sacrebleu's defaults, not sacrebleu itself; prompts and role descriptions "
    "are our own wording",
]


def role_descriptions() -> dict[str, str]:
    import yaml

    return yaml.safe_load((PROMPTS / "roles.yaml").read_text(encoding="utf-8"))


# --- answers ------------------------------------------------------------------------------------

_CHOICE = re.compile(r"\(([ABCDabcd])\)")
_CHOICE_LOOSE = re.compile(r"([ABCDabcd])\)")
_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*|-?\.\d+")
_HASHES = re.compile(r"#### *(-?[0-9.,]+)")


def parse_choice(reply: str) -> str | None:
    found = _CHOICE.findall(reply) or _CHOICE_LOOSE.findall(reply)
    return found[-1].upper() if found else None


def parse_number(reply: str) -> str | None:
    found = _HASHES.search(reply)
    text = found.group(1) if found else (_NUMBER.findall(reply) or [None])[-1]
    if text is None:
        return None
    text = text.replace(",", "").rstrip(".")
    try:
        value = float(text)
    except ValueError:
        return None
    return str(int(value)) if value.is_integer() else str(value)


def _boxed(text: str) -> str | None:
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    rest = text[start + len("\\boxed"):]
    if not rest.startswith("{"):
        return rest.split("$")[0].strip()
    depth, out = 0, []
    for ch in rest:
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            break
        out.append(ch)
    return "".join(out[1:])


def normalize_math(answer: str) -> str:
    """A light version of upstream's `_strip_string`: spacing, dollars, \\left/\\right, dfrac/tfrac,
    degrees and percent signs, a trailing period, `x = ` prefixes."""
    s = answer.replace("\n", "").replace("\\!", "").replace("\\\\", "\\").replace("tfrac", "frac")
    s = s.replace("dfrac", "frac").replace("\\left", "").replace("\\right", "").replace("^{\\circ}", "")
    s = s.replace("^\\circ", "").replace("\\$", "").replace("$", "").replace("\\%", "").replace("%", "")
    s = s.strip().rstrip(".")
    if s.count("=") == 1 and len(s.split("=")[0].strip()) <= 2:
        s = s.split("=")[1]
    return s.replace(" ", "")


def parse_math(reply: str) -> str | None:
    lowered = reply.lower()
    if "the answer is" in lowered:
        answer = reply[lowered.rfind("the answer is") + len("the answer is"):].strip().splitlines()[0]
        answer = _boxed(answer) or answer
    else:
        answer = _boxed(reply) or ((_NUMBER.findall(reply) or [None])[-1])
    return normalize_math(answer) if answer else None


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.lower())


def sentence_bleu(hypothesis: str, reference: str, max_order: int = 4) -> float:
    """Sentence BLEU in [0, 1] (sacrebleu's `sentence_bleu` defaults, see the module doc)."""
    hyp, ref = _tokens(hypothesis), _tokens(reference)
    if not hyp or not ref:
        return float(hyp == ref)
    logs, smooth = [], 1.0
    for n in range(1, max_order + 1):
        total = len(hyp) - n + 1
        if total <= 0:
            break
        got = Counter(tuple(hyp[i:i + n]) for i in range(total))
        want = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
        match = sum(min(c, want[g]) for g, c in got.items())
        if match == 0:
            smooth *= 2
            logs.append(math.log(1 / (smooth * total)))
        else:
            logs.append(math.log(match / total))
    brevity = 1.0 if len(hyp) >= len(ref) else math.exp(1 - len(ref) / len(hyp))
    return brevity * math.exp(sum(logs) / len(logs))


def answer_kind(task: str) -> str:
    if "####" in task:
        return "number"
    if "```python" in task or "python code block" in task:
        return "code"
    return "text"


def comparison(kind: str, similarity: float) -> tuple[Callable[[str], Any], Callable[[Any, Any], bool]]:
    """The parser and the equality of an answer kind."""
    from ..envs.code import extract_code

    similar = lambda a, b: sentence_bleu(a, b) >= similarity  # noqa: E731 - upstream compares x against [y]
    return {
        "choice": (parse_choice, lambda a, b: a == b),
        "number": (parse_number, lambda a, b: a == b),
        "math": (parse_math, lambda a, b: a == b),
        "code": (lambda reply: extract_code(reply).strip() or None, similar),
        "text": (lambda reply: reply.strip() or None, similar),
    }[kind]


def parse_ratings(reply: str) -> list[int]:
    """The last `[[a, b, ...]]` list; an item that is not an integer counts 0 (upstream `find_array`)."""
    found = re.findall(r"\[\[(.*?)\]\]", reply, re.S)
    if not found:
        return []
    out = []
    for item in found[-1].replace(" ", "").split(","):
        try:
            out.append(int(item))
        except ValueError:
            out.append(0)
    return out


def parse_ranking(reply: str, k: int, n: int) -> list[int]:
    """Positions (0-based, clipped to the list) from the last `[i, j]` of `k` numbers (1-based);
    the first `k` when there is none (the list was shuffled: upstream samples at random)."""
    lists = [[int(x) for x in m.split(",")] for m in re.findall(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]", reply)]
    lists = [items for items in lists if len(items) == k]
    if not lists:
        return list(range(min(k, n)))
    return [min(max(i - 1, 0), n - 1) for i in lists[-1]]


# --- the roles the network is made of -----------------------------------------------------------


class RoleAgent:
    """One DyLAN agent: a role that answers, and from round 2 on rates the answers it was shown."""

    def __init__(self, model: Model, role: str, description: str, *, kind: str, parse: Callable[[str], Any],
                 system: str | None, options: dict[str, Any]) -> None:
        self.model, self.name, self.kind, self.parse, self.options = model, role, kind, parse, options
        self.system = render(PROMPTS / "system.j2", role=description, system=system)

    async def activate(self, task: str, shown: Sequence[Node], round: int, ctx: Context) -> Activation:
        fmt = render(PROMPTS / "format.j2", kind=self.kind)
        if shown:
            prompt = render(PROMPTS / "respond.j2", task=task, replies=[n.reply for n in shown], fmt=fmt)
        else:
            prompt = render(PROMPTS / "first.j2", task=task, fmt=fmt)
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": prompt}]
        reply = (await ctx.model(self.model, ModelRequest(messages=messages, **self.options))).text
        return Activation(reply, self.parse(reply), parse_ratings(reply) if shown else ())


class ListwiseRanker:
    """Picks the best `k` of the previous round's replies (upstream `listwise_ranker_2`)."""

    def __init__(self, model: Model, options: dict[str, Any]) -> None:
        self.model, self.options = model, options

    async def select(self, task: str, shown: Sequence[Node], k: int, ctx: Context) -> list[int]:
        prompt = render(PROMPTS / "rank.j2", task=task, replies=[n.reply for n in shown], k=k)
        response = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                            **self.options))
        return parse_ranking(response.text, k, len(shown))


class DyLAN:
    """The recipe's agent: picks the answer kind from the task, then runs the layered network (or,
    with `code` set and a task that asks for a function, the code-generation network)."""

    def __init__(self, model: Model, *, roles: Sequence[str], system: str | None, options: dict[str, Any],
                 answer: str, similarity: float, network: dict[str, Any],
                 code: dict[str, Any] | None = None) -> None:
        known = role_descriptions()
        unknown = [r for r in roles if r not in known]
        if unknown:
            raise ConfigError(f"dylan: unknown roles {unknown}; known: {', '.join(known)}")
        if answer not in ("auto", "choice", "number", "math", "code", "text"):
            raise ConfigError(f"dylan: answer must be auto, choice, number, math, code or text, not {answer!r}")
        self.model, self.roles, self.descriptions, self.system = model, list(roles), known, system
        self.options, self.answer, self.similarity, self.network = options, answer, similarity, network
        self.code = code
        self.name = "dylan"

    def build_network(self, task: str) -> LayeredNetwork:
        kind = answer_kind(task) if self.answer == "auto" else self.answer
        parse, equal = comparison(kind, self.similarity)
        agents = [RoleAgent(self.model, role, self.descriptions[role], kind=kind, parse=parse, system=self.system,
                            options=self.options) for role in self.roles]
        return LayeredNetwork(agents, equal=equal, selector=ListwiseRanker(self.model, self.options), name=self.name,
                              **self.network)

    async def run(self, task: str, ctx: Context) -> NetworkResult:
        if self.code is not None:
            from ._code_tests import read_task
            from ._dylan_code import CodeNetwork

            code_task = read_task(task)
            if code_task is not None:
                network = CodeNetwork(self.model, code_task, **self.code)
                return await network.run(ctx, ListwiseRanker(self.model, self.code["options"]))
        return await self.build_network(task).run(task, ctx)


def select_team(results: Iterable[NetworkResult], roles: Sequence[str], k: int) -> list[str]:
    """Team optimisation: the `k` agents with the highest agent importance summed over `results`
    (runs with the candidate `roles`), in their original order."""
    totals = [0.0] * len(roles)
    for result in results:
        for i, score in enumerate(result.agent_importance):
            totals[i] += score
    best = sorted(range(len(roles)), key=lambda i: (-totals[i], i))[:k]
    return [roles[i] for i in sorted(best)]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, task: Literal["auto", "general", "code"] = "auto",
          task_kind: str | None = None, roles: Sequence[str] | None = None, judges: Sequence[str] | None = None,
          rounds: int = 3, agreement: float = 2 / 3, top_k: int = 2, select_from_round: int = 3,
          select_if_more_than: int | None = None, temperature: float | None = None, max_tokens: int | None = None,
          answer: Literal["auto", "choice", "number", "math", "code", "text"] = "auto", similarity: float = 0.9,
          shuffle: bool = True, seed: int | None = None, reference: Any = None, max_tests: int = 10,
          test_timeout: float = 5.0, tier: str = "auto", limits: Limits | None = None,
          allow_unsafe: bool = False) -> DyLAN:
    """DyLAN with the paper's constants (see the module doc). `task`: the general network, the
    code-generation one, or `auto` (code when `task_kind` is "code"); `roles`, `temperature`,
    `max_tokens` and `select_if_more_than` default to the chosen network's values. `seed` fixes the
    shuffles (default: `sampling["seed"]`, else a recorded random seed); `reference` is the answer
    the general network's backward pass counts as correct (default: its own answer, as upstream)."""
    from . import _dylan_code as code_net

    if tools:
        raise ConfigError("dylan: the recipe uses no tools; run it on a task without tools")
    if rounds < 3:
        raise ConfigError("dylan: rounds must be at least 3 (upstream asserts rounds > 2)")
    if task not in ("auto", "general", "code"):
        raise ConfigError(f"dylan: task must be auto, general or code, not {task!r}")
    coding = task == "code" or (task == "auto" and task_kind == "code")
    if judges is not None and not coding:
        raise ConfigError("dylan: judges belong to the code-generation network (task='code')")
    sampling = dict(sampling or {})
    seed = seed if seed is not None else sampling.get("seed")

    def settings(temp: float, tokens: int, more_than: int) -> tuple[dict[str, Any], dict[str, Any]]:
        options = {"temperature": temperature if temperature is not None else temp,
                   "max_tokens": max_tokens if max_tokens is not None else tokens, **sampling}
        network = {"rounds": rounds, "agreement": agreement, "top_k": top_k, "select_from": select_from_round - 1,
                   "select_if_more_than": select_if_more_than if select_if_more_than is not None else more_than,
                   "shuffle": shuffle, "seed": seed, "reference": reference}
        return options, network

    options, network = settings(TEMPERATURE, MAX_TOKENS, SELECT_IF_MORE_THAN)
    code = None
    if coding:
        chosen = list(judges if judges is not None else code_net.CODE_JUDGES)
        unknown = [j for j in chosen if j not in code_net.judge_kinds()]
        if unknown:
            raise ConfigError(f"dylan: unknown judges {unknown}; known: {', '.join(code_net.judge_kinds())}")
        code_options, code_network = settings(code_net.TEMPERATURE, code_net.MAX_TOKENS, code_net.SELECT_IF_MORE_THAN)
        code_network.pop("reference")  # the code network counts the code that runs as correct
        code = {"roles": list(roles if roles is not None else code_net.CODE_ROLES), "judges": chosen,
                "system": system, "options": code_options, "similarity": similarity, "max_tests": max_tests,
                "test_timeout": test_timeout, "network": code_network, "tier": tier, "limits": limits,
                "allow_unsafe": allow_unsafe}
        unknown = [r for r in code["roles"] if r not in code_net.code_roles()]
        if unknown:
            raise ConfigError(f"dylan: unknown coding roles {unknown}; known: {', '.join(code_net.code_roles())}")
        roles = None  # a task that asks for no function gets the general network's defaults
    return DyLAN(model, roles=roles if roles is not None else DEMO_ROLES, system=system, options=options,
                 answer=answer, similarity=similarity, network=network, code=code)
