"""Scripted responses for the mlagentbench research agent's tests: the six entries, and a long run that edits,
runs and undoes, always the same, so that a killed run and its reference take the same steps."""

import json

READ_AT = 148
"""The 149th response reads data/train.csv (a few thousand characters): a fork that summarises shorter observations
diverges right after it, at the 150th."""
ENTRIES = ("Reflection", "Research Plan and Status", "Fact Check", "Thought", "Action", "Action Input")


def respond(action, action_input, *, plan="1. Measure the baseline. 2. Improve the model.", skip=(), raw_input=None):
    values = {"Reflection": "The observation is as expected.", "Research Plan and Status": plan,
              "Fact Check": "Nothing is claimed yet.", "Thought": f"I take {action}.", "Action": action,
              "Action Input": raw_input if raw_input is not None else json.dumps(action_input)}
    return "\n".join(f"{e}: {values[e]}" for e in ENTRIES if e not in skip)


def long_run(task, steps):
    """`steps` responses: a cycle of writing a numbered note, appending to it, listing, running the baseline and
    copying the script, one read of the training data (at `READ_AT`), then the improved script and the final answer
    at the end (scored a success)."""
    out = []
    for i in range(steps - 3):
        kind = i % 5
        if i == READ_AT:
            out.append(respond("Read File", {"file_name": "data/train.csv"}))
        elif kind == 0:
            out.append(respond("Write File", {"file_name": f"notes/{i}.txt", "content": f"note {i}\n"}))
        elif kind == 1:
            out.append(respond("Append File", {"file_name": f"notes/{i - 1}.txt", "content": f"more {i}\n"}))
        elif kind == 2:
            out.append(respond("List Files", {"dir_path": "notes"}))
        elif kind == 3:
            out.append(respond("Copy File", {"source": "train.py", "destination": f"copies/train_{i}.py"}))
        else:
            out.append(respond("Inspect Script Lines", {"script_name": "train.py", "start_line_number": 1,
                                                        "end_line_number": 5}))
    out.append(respond("Write File", {"file_name": "train.py", "content": task.gold}))
    out.append(respond("Execute Script", {"script_name": "train.py"}))
    out.append(respond("Final Answer", {"final_answer": "done"}))
    return out
