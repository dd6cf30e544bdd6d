"""A scripted town for the Generative Agents tests: a function of the request that plays every resident of the
`tiny-party` scenario by reading its prompt, as a model would, and so lets news spread only through what the
residents remember and say.

- plans follow a fixed afternoon per resident (Isabella at the cafe; Maria at the cafe, then the library; Klaus
  at the library, then the park), except that a resident whose hour prompt recalls the party goes to it at 17:00;
- everyone talks when they see someone new;
- a speaker whose memories or conversation mention the party speaks of it; the third line ends a conversation;
- the interview says yes, naming the party, exactly when the resident's memories mention it;
- importance: 8 for what mentions the party, else 3.

    agentzoo eval --env town --agent generative-agents --model scripted:tests/recipes/generative_agents_script.py:play
"""

from __future__ import annotations

import json
import re

CAFE, KITCHEN, LIBRARY, PARK, COMMONS = ("Hobbs Cafe:cafe", "Hobbs Cafe:kitchen", "Oak Hill College:library",
                                         "Johnson Park:lawn", "College dorm:common room")
AFTERNOON = {  # hour -> (activity, location)
    "Isabella Rodriguez": {15: ("decorating the cafe", CAFE), 16: ("cooking for the evening", KITCHEN),
                           17: ("hosting guests at the cafe", CAFE), 18: ("hosting guests at the cafe", CAFE)},
    "Maria Lopez": {15: ("having coffee and studying", CAFE), 16: ("studying physics", LIBRARY),
                    17: ("taking a walk", PARK), 18: ("taking a walk", PARK)},
    "Klaus Mueller": {15: ("writing his research paper", LIBRARY), 16: ("writing his research paper", LIBRARY),
                      17: ("walking in the park", PARK), 18: ("having dinner", COMMONS)},
}
PARTY_LINE = "Isabella is throwing a Valentine's Day party at Hobbs Cafe from 5pm today, come along!"


def play(request) -> str:
    text = request.messages[-1]["content"]
    fmt = request.response_format or {}
    name = (fmt.get("json_schema") or {}).get("name")
    if name is None:
        return reflection(text)
    who = re.search(r"^Name: (.+?) \(age", text, re.M)
    resident = who.group(1) if who else ""
    answer = globals()[f"_{name}"](text, resident, fmt["json_schema"]["schema"])
    return json.dumps(answer)


def section(text: str, title: str) -> str:
    """The lines under a heading that starts with `title`, up to the next blank line."""
    found = re.search(rf"^{re.escape(title)}.*?:\n((?:.+\n?)*)", text, re.M)
    return found.group(1) if found else ""


def recalls_party(text: str) -> bool:
    """Whether the memories the prompt shows (under "… remembers …" or "… has in mind …") mention the party."""
    shown = re.findall(r"^What .*(?:remembers|in mind).*:\n((?:- .*\n?)*)", text, re.M)
    return any("party" in block.lower() for block in shown)


def _importance(text, resident, schema):
    line = re.search(r"^(?:Observation|Dialogue|Thought|Plan): (.*)$", text, re.M)
    return {"importance": 8 if line and "party" in line.group(1).lower() else 3}


def _day_plan(text, resident, schema):
    hours = AFTERNOON.get(resident, {15: ("going about the day", CAFE)})
    plan = [{"time": f"{h:02d}:00", "activity": a} for h, (a, _) in sorted(hours.items())]
    while len(plan) < 5:
        plan.append({"time": "18:30", "activity": "winding down"})
    return {"plan": plan}


def _hour(text, resident, schema):
    hour = int(re.search(r"doing from (\d\d):00", text).group(1))
    if hour >= 17 and recalls_party(text):
        return {"activity": "going to the Valentine's Day party"}
    return {"activity": AFTERNOON[resident].get(hour, ("going about the day", CAFE))[0]}


def _actions(text, resident, schema):
    """Six 10-minute actions (the recipe fits them to the window): the afternoon's, or the party's."""
    start_hour = int(re.search(r"(?:From|from) (\d\d):\d\d to", text).group(1))
    activity, where = AFTERNOON[resident].get(start_hour, ("going about the day", CAFE))
    if "party" in text.lower():  # the hour's activity, or the plan being redone, is the party
        activity, where = "at the Valentine's Day party", CAFE
    return {"actions": [{"description": f"{activity} (part {i + 1})", "minutes": 10, "location": where,
                         "object": ""} for i in range(6)]}


def _talk(text, resident, schema):
    return {"reasoning": "It is good to say hello.", "talk": True}


def _utterance(text, resident, schema):
    so_far = section(text, "The conversation so far")
    lines = [line for line in so_far.splitlines() if line.strip()]
    if recalls_party(text) or "party" in so_far.lower():
        said = PARTY_LINE if "party" not in so_far.lower() else "Wonderful, see you at the party tonight!"
    else:
        said = "Hi, how is your afternoon going?"
    return {"utterance": said, "end": len(lines) >= 2}


def _interview(text, resident, schema):
    if recalls_party(text):
        return {"knows_of_event": True, "event": "a Valentine's Day party", "where": "Hobbs Cafe", "when": "5pm"}
    return {"knows_of_event": False, "event": "", "where": "", "when": ""}


def reflection(text: str) -> str:
    """The memory stream's own prompts for a reflection (free text, agentzoo.memory's templates): questions,
    insights citing the first two records shown, and the insights' importance."""
    ids = re.findall(r"^\[(\d+)\]", text, re.M)
    if "1 to 10" in text:  # the importance of an insight
        return "6"
    if "high-level questions" in text:
        return "What matters most to this person today?"
    return f"They care about the people around them [evidence: {', '.join(ids[:2])}]"
