"""Runs INSIDE the sandbox (never imported by the host): loads a model-written environment and performs one
operation on it, printing one JSON report line. The host appends `PAYLOAD = {...}` and `main()`.

The environment is a module with two functions over a JSON state (a dict):
    actions(state) -> list[str]                 the actions valid in `state`
    step(state, action) -> (new_state, str)     the state after `action`, and what the agent observes
A goal is a dict of state keys and the values they must have (PDDL's goal facts, as JSON).

Operations: `check` (parse, load, and exercise every action of the example state once), `task` (the
initial state is valid, the goal is not already met, and a breadth-first search finds the shortest plan
within a bound: its length is the task's difficulty), `step` (one action from a state).
"""

import copy
import json

REPORT = "AGENTGEN-REPORT "


class Broken(Exception):
    """The environment did something its interface forbids."""


def report(**fields):
    print(REPORT + json.dumps(fields, sort_keys=True))


def load(code):
    namespace = {"__name__": "generated_env"}
    exec(compile(code, "<environment>", "exec"), namespace)  # in the sandbox only
    for name in ("actions", "step"):
        if not callable(namespace.get(name)):
            raise Broken(f"the code defines no function `{name}`")
    return namespace


def as_json(value, what):
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise Broken(f"{what} is not plain JSON: {exc}") from None


def valid_actions(env, state):
    acts = env["actions"](copy.deepcopy(state))
    if not isinstance(acts, list) or not all(isinstance(a, str) for a in acts):
        raise Broken(f"actions(state) must return a list of strings, got {type(acts).__name__}")
    return acts


def do(env, state, action):
    out = env["step"](copy.deepcopy(state), action)
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], dict) and isinstance(out[1], str)):
        raise Broken("step(state, action) must return (new_state: dict, observation: str)")
    return as_json(out[0], "the new state"), out[1]


def reached(state, goal):
    return all(state.get(k) == v for k, v in goal.items())


def shortest_plan(env, init, goal, max_states):
    key = json.dumps(init, sort_keys=True)
    frontier, seen = [(init, [])], {key}
    while frontier:
        nxt = []
        for state, plan in frontier:
            for action in valid_actions(env, state):
                new, _ = do(env, state, action)
                if reached(new, goal):
                    return plan + [action], len(seen)
                k = json.dumps(new, sort_keys=True)
                if k not in seen:
                    if len(seen) >= max_states:
                        return None, len(seen)
                    seen.add(k)
                    nxt.append((new, plan + [action]))
        frontier = nxt
    return None, len(seen)


def main():
    p = PAYLOAD  # noqa: F821 (appended by the host)
    try:
        env = load(p["code"])
        if p["op"] == "check":
            state = as_json(p["state"], "the example state")
            acts = valid_actions(env, state)
            if not acts:
                raise Broken("the example state has no valid action")
            for action in acts[: p["max_actions"]]:
                do(env, state, action)
            report(ok=True, actions=acts)
        elif p["op"] == "task":
            init, goal = as_json(p["init"], "the initial state"), as_json(p["goal"], "the goal")
            if not isinstance(init, dict) or not isinstance(goal, dict) or not goal:
                raise Broken("a task needs an initial state and a non-empty goal, both JSON objects")
            if reached(init, goal):
                raise Broken("the goal already holds in the initial state")
            plan, explored = shortest_plan(env, init, goal, p["max_states"])
            if plan is None:
                raise Broken(f"no plan reaches the goal (searched {explored} states)")
            report(ok=True, plan=plan, explored=explored)
        else:
            state = as_json(p["state"], "the state")
            acts = valid_actions(env, state)
            if p["action"] not in acts:
                report(ok=True, valid=False, state=state, actions=acts, observation="")
                return
            new, observation = do(env, state, p["action"])
            report(ok=True, valid=True, state=new, actions=valid_actions(env, new), observation=observation,
                   done=reached(new, p["goal"]))
    except Exception as exc:  # what the environment did wrong, for the host to report
        report(ok=False, error=f"{type(exc).__name__}: {exc}")
