"""Scripted roles for the Agent Laboratory tests: a player that answers by role and phase, always the same, so
that a killed run and its reference ask and answer alike. `Lab(task, **overrides)`; overrides by phase name
replace a phase's answers (a list, consumed in order, or a function of the request)."""

import re

PHASE = re.compile(r"^Phase: ([a-z ]+)\.", re.MULTILINE)
ROLE_OPENINGS = {"You are a PhD student": "phd", "You are a postdoctoral": "postdoc",
                 "You are a machine learning engineer": "ml-engineer", "You are a software engineer": "sw-engineer",
                 "You are a professor": "professor", "You are a reviewer": "reviewer",
                 "You are a reward model": "reward", "You repair Python": "code-repair"}
PAPERS = ("37", "31", "34", "62", "24", "15", "27", "39")
DATA_CODE = "import csv\nrows = list(csv.DictReader(open('data/train.csv')))\nprint(len(rows), 'training rows')"


def fenced(word, body, args=""):
    return f"```{word}{(' ' + args) if args else ''}\n{body}\n```"


def role_and_phase(request):
    system, user = request.messages[0]["content"], request.messages[-1]["content"]
    role = next(r for opening, r in ROLE_OPENINGS.items() if system.startswith(opening))
    return role, PHASE.search(user).group(1)


class Lab:
    """A whole lab's answers: five papers, a plan, data code, the gold program, scores, a report, 'n'."""

    def __init__(self, program, **overrides):
        self.program, self.overrides, self.log = program, dict(overrides), []

    def __call__(self, request):
        role, phase = role_and_phase(request)
        self.log.append((role, phase))
        key = f"{role}/{phase}"
        for name in (key, phase):
            if name in self.overrides:
                got = self.overrides[name]
                if callable(got):
                    return got(request)
                if got:
                    return got.pop(0)
        if phase == "literature review":
            user = request.messages[-1]["content"]
            paper = next(p for p in PAPERS if f"[{p}]" not in user)  # the next one not yet added
            return fenced("ADD_PAPER", f"{paper}\nrelevant to ML experimentation")
        if phase == "plan formulation":
            return fenced("PLAN", "Replace the nearest-centroid baseline with k-nearest neighbours on all features.") \
                if role == "postdoc" else "Let us use all four features."
        if phase == "data preparation":
            return fenced("SUBMIT_CODE", DATA_CODE) if role == "sw-engineer" else "Load the csv with the csv module."
        if phase == "running experiments":
            return fenced("REPLACE", self.program)
        if phase == "scoring":  # the program asked for scores best; the baseline and other versions less
            text = request.messages[-1]["content"]  # and the edited report better than the draft
            return fenced("SCORE", "0.95" if "# k-NN on iris" in text else "0.9" if self.program in text else "0.4")
        if phase == "results interpretation":
            return fenced("INTERPRETATION", "k-NN beats the baseline.") if role == "postdoc" else "It improved."
        if phase == "report writing":
            return fenced("EDIT", "# k-NN on iris", "0 0")
        if phase == "review":
            return "Sound and clear. Overall: 6/10."
        if phase == "decision":
            return "n"
        if phase == "code repair":
            return "I cannot fix it."
        raise AssertionError(f"unexpected request: {role} in {phase}")


def play(request):
    """For `scripted:<this file>:play` in the harness: the lab of the task whose research problem the prompt
    shows, playing its gold program."""
    from agentzoo.envs.mlagentbench import MLAgentBench

    text = " ".join(str(m.get("content") or "") for m in request.messages)
    task = next(t for t in _tasks(MLAgentBench) if t.prompt in text)
    return Lab(task.gold)(request)


_TASKS = []


def _tasks(env_type):
    if not _TASKS:
        _TASKS.extend(env_type().tasks())
    return _TASKS
