"""What the agenttorch tests share: a small epidemic scenario of 3 age groups × 2 genders (6 groups) over two
wards, and a scripted archetype model whose answer is a function of the group's traits, the replicate's seed
and whether a lockdown was announced, so a test can compute every agent's expected value from its own
attributes."""

import json
import re

AGES = ["young", "middle", "old"]
GENDERS = ["woman", "man"]
SCENARIO = {
    "name": "test-town",
    "description": "six groups, two wards",
    "dynamics": "epidemic",
    "place": "Testville",
    "start": "2021-01-04T00:00",
    "step_days": 7,
    "steps": 4,
    "population": 1000,
    "template": ["age", "gender"],
    "locality": "ward",
    "attributes": {
        "age": {"label": "age group", "values": AGES, "shares": [0.3, 0.4, 0.3]},
        "gender": {"label": "gender", "values": GENDERS, "shares": [0.5, 0.5]},
        "ward": {"label": "ward", "values": ["North", "South"], "shares": [0.6, 0.4]},
    },
    "parameters": {"r0": 2.5, "initial_infected": 0.02},
    "heuristic": {"base": 0.2, "shift": {"age": {"old": 0.4}, "gender": {"woman": 0.05}}},
    "interventions": {"lockdown": {"step": 2, "announcement": "Everyone must stay home.", "contact_factor": 0.5,
                                   "heuristic_shift": 0.3}},
    "reference": {"measure": "cases_per_100k", "series": [1000, 1500, 1500, 1000], "tolerance": 0.5},
}
TASK = json.dumps(SCENARIO)
LOCKDOWN_BONUS = 0.3


def expected(age: str, gender: str, seed: int, announced: bool) -> float:
    """The scripted archetype's probability for a group, one replicate."""
    return round(0.1 + 0.2 * AGES.index(age) + 0.05 * GENDERS.index(gender) + 0.01 * seed
                 + (LOCKDOWN_BONUS if announced else 0.0), 6)


def traits(prompt: str) -> tuple[str, str]:
    return (re.search(r"- age group: (\w+)", prompt).group(1), re.search(r"- gender: (\w+)", prompt).group(1))


def decide(request) -> str:
    """Reply as an archetype of the group the last prompt describes (a re-ask follows it)."""
    prompt = next(m["content"] for m in reversed(request.messages) if "- age group:" in m["content"])
    age, gender = traits(prompt)
    value = expected(age, gender, request.seed or 0, "Announcement" in prompt)
    return json.dumps({"stay_home_probability": value})


def fixed(request) -> str:
    """Any scenario: 0.5 for the field the request's schema asks for."""
    key = request.response_format["json_schema"]["schema"]["required"][0]
    return json.dumps({key: 0.5})
