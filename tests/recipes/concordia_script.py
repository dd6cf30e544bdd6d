"""A scripted world for the concordia tests: players and game master answer by the prompt, so a run of the
`locked-door` scenario is a fixed story — Mara tries the locked door, Tomas finds the spare key and then
unlocks the door — that replays, resumes and forks call for call."""

import re

from agentzoo.types import ModelRequest

OPENS = "Tomas unlocked the cellar door with the spare key and it swung open."
FOUND = "Tomas found a spare iron key on a nail behind the wine rack in the cellar."
TRIED = "Mara tried the handle of the cellar door, but it stayed locked."


def world(request: ModelRequest) -> str:
    prompt = request.messages[-1]["content"]
    if "Decide what" in prompt:  # a player's act prompt
        name = re.search(r"You are playing (\w+)", prompt).group(1)
        seen = prompt.split("current observations:")[-1] if "current observations:" in prompt else ""
        if name == "Mara":
            if "footsteps" in seen:
                return "Mara shouts for help up the stairs."
            if "swung open" in seen:
                return "Mara climbs the stairs out of the cellar."
            return "I try to open the locked door" if "Current time: Friday March 1, 2024, 20:00" in prompt else \
                "Mara waits by the door."
        if "swung open" in seen:
            return "Tomas follows Mara up the stairs."
        return "Tomas unlocks the cellar door with the spare key." if "spare iron key" in seen else \
            "Tomas searches behind the wine rack."
    attempt = re.search(r"^(\w+) attempts: (.*)$", prompt, re.M)
    if "Judge whether this attempt" in prompt:
        return "REJECT: nobody can walk through walls." if "through the wall" in attempt.group(2) else "PLAUSIBLE"
    if "What happens as a result" in prompt:
        return "It happens as tried."
    if "Rewrite what happened" in prompt:
        said = attempt.group(2)
        if "locked door" in said:
            return f"{TRIED}\nPresent: Tomas"
        if "wine rack" in said:
            return f"{FOUND}\nPresent: everyone"
        if "unlocks" in said:
            return f"{OPENS}\nPresent: everyone"
        return f"{attempt.group(1)} waited in the cellar.\nPresent: everyone"
    if "change this plan" in prompt:
        return "No"
    if "a few short steps" in prompt:
        return "20:00 find a way out of the cellar."
    if "Sum these memories up" in prompt:
        return re.search(r'starting with "(\w+)"', prompt).group(1) + " is locked in the cellar."
    raise AssertionError(f"not a concordia prompt: {prompt[:120]!r}")
