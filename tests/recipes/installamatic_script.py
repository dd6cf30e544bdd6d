"""Scripted replies for Installamatic's tests, as functions of the request: each role is told by the template of the
last message (as the oracle player tells them), so a killed run and its reference take the same steps.

`ledger(request)`: on the ledger repository, the search reads README.md and docs/INSTALL.md and records both, the
first script follows the outdated README (requirements.txt needs the network: the build fails), the first repair
reads the Makefile and writes `make dev`, which passes. `seeded(request)`: the script is right only for seed 7
(the other nine write one that installs nothing): pass@10 over seeds 0-9 is 1, pass@1 is 0.1.
"""

from agentzoo.recipes._oracle.gold import Marker
from agentzoo.recipes.installamatic.agent import PROMPTS

PLAN, ACT, SUMMARY, WRITE, EXPLAIN, FIX = (Marker.of(PROMPTS / f"{n}.j2")
                                           for n in ("plan", "act", "summary", "write", "explain", "fix"))
README_SCRIPT = "python3 -m pip install --user -r requirements.txt\npython3 setup.py develop\n"
GATHER = ["cat README.md", "record README.md", "cat docs/INSTALL.md", "record docs/INSTALL.md", "done"]
REPAIR = ["cat Makefile", "done"]


def last(request):
    return str(request.messages[-1].get("content") or "")


def ledger(request):
    text = last(request)
    in_repair = "You are repairing an install script" in str(request.messages[0].get("content"))
    actions = REPAIR if in_repair else GATHER
    if PLAN.found_in(text):
        return "I look for the install instructions."
    if ACT.found_in(text):
        done = sum(1 for m in request.messages if m["role"] == "user" and ACT.found_in(m["content"])) - 1
        return actions[min(done, len(actions) - 1)]
    if SUMMARY.found_in(text):
        return "Install the requirements, then run setup.py develop."
    if WRITE.found_in(text):
        return f"```bash\n{README_SCRIPT}```"
    if EXPLAIN.found_in(text):
        return "pip cannot reach a package index: requirements.txt is outdated."
    if FIX.found_in(text):
        return "docs/INSTALL.md says: run make dev.\n```bash\nmake dev\n```"
    raise AssertionError(f"unexpected request: {text[:200]}")


def seeded(request):
    text = last(request)
    if PLAN.found_in(text):
        return "The Makefile will say."
    if ACT.found_in(text):
        return "done"
    if SUMMARY.found_in(text):
        return "make dev"
    if WRITE.found_in(text) or FIX.found_in(text):
        return "```bash\nmake dev\n```" if request.seed == 7 else "```bash\necho nothing to install\n```"
    if EXPLAIN.found_in(text):
        return "The tests cannot find the database."
    raise AssertionError(f"unexpected request: {text[:200]}")
