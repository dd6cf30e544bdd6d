"""tau-bench retail and airline: conformance with the golden replays, reward, validation, isolation."""

from __future__ import annotations

import copy
import functools
import gzip
import json
from importlib import resources

import pytest

from agentzoo.envs.tau import (STOP, Action, Domain, ScriptedUser, UserSimulator, available_splits, data_hash, fresh_data,
                               gold_data_hash, golden_replay, load_domain, output_found, reward, reward_info,
                               to_hashable, tool_functions, write_tools)
from agentzoo.envs.tau.scoring import data_hash_reference
from agentzoo.errors import ToolArgumentsError
from agentzoo.tools import ToolSet
from agentzoo.types import ToolCall

SPLITS = [("retail", "test"), ("retail", "dev"), ("airline", "test")]


@functools.cache
def domain(name: str, split: str = "test") -> Domain:
    """Loaded once per test session (the databases themselves are read once per process)."""
    return load_domain(name, split=split)


@pytest.fixture(scope="module")
def pristine():
    """One read-only copy of each database, for looking things up."""
    return {name: fresh_data(name) for name in ("retail", "airline")}


def _is_error(observation: str) -> bool:
    return observation.startswith("Error")


# --- conformance: every gold action's observation, the final hash, reward 1.0 -----------------------


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_gold_replay_matches_the_golden_replay(name, split):
    """Every gold action gives the recorded observation, and the final data the recorded hash."""
    dom = domain(name, split)
    gold = golden_replay(name, split)
    assert [t.index for t in dom.tasks] == [g["task_index"] for g in gold]
    expected_counts = {("retail", "test"): 115, ("retail", "dev"): 20, ("airline", "test"): 50}
    assert len(dom.tasks) == expected_counts[name, split]
    observations = same_observations = same_hashes = full_rewards = 0
    mismatches = []
    for task, recorded in zip(dom.tasks, gold, strict=True):
        assert [a.name for a in task.actions] == [s["name"] for s in recorded["steps"]]
        assert [a.kwargs for a in task.actions] == [s["kwargs"] for s in recorded["steps"]]
        data, seen = dom.replay(task.actions)
        for action, got, step in zip(task.actions, seen, recorded["steps"], strict=True):
            observations += 1
            if got == step["observation"]:
                same_observations += 1
            else:
                mismatches.append((task.id, action.name, got[:200], step["observation"][:200]))
        # Upstream's recorded gold hash stands in for the gold replay here (it is checked below).
        info = reward_info(task, data, task.outputs, gold_hash=recorded["gt_data_hash"])
        same_hashes += info.data_hash == recorded["gt_data_hash"]
        full_rewards += info.reward == 1.0
    assert mismatches == []
    assert (same_observations, same_hashes, full_rewards) == (observations, len(dom.tasks), len(dom.tasks))


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_reward_replays_the_gold_actions(name, split):
    """The reward's own gold replay (terminating tools skipped) gives the recorded hash."""
    dom = domain(name, split)
    gold = golden_replay(name, split)
    chosen = [(t, g) for n, (t, g) in enumerate(zip(dom.tasks, gold, strict=True))
              if n % 10 == 0 or any(a.name in dom.terminate_tools for a in t.actions)]
    assert any(a.name == "transfer_to_human_agents" for t, _ in chosen for a in t.actions) or split == "dev"
    for task, recorded in chosen:
        data, _ = dom.replay(task.actions)
        info = reward_info(task, data, task.outputs)
        assert (info.gold_data_hash, info.reward) == (recorded["gt_data_hash"], 1.0), task.id
        assert gold_data_hash(task) == info.gold_data_hash


def test_data_hash_is_upstreams_rule():
    # data_hash builds the text from remembered pieces; data_hash_reference is upstream's rule, literally.
    # (The conformance test above checks data_hash against upstream's recorded hashes, too.)
    data = fresh_data("retail")
    before = data_hash(data)
    assert before == data_hash_reference(data)
    data["orders"]["#W2378156"]["status"] = "cancelled"
    data["users"]["new_user"] = {"name": "x", "tags": {"b", "a"}}  # a set: sorted, as upstream
    assert data_hash(data) == data_hash_reference(data) != before
    # 1, 1.0 and True are equal in Python, not in the hashed text: a remembered piece must not be reused.
    small = {"reservations": {f"R{i}": {"bags": 1, "ids": ["a", "b"]} for i in range(40)}, "users": {}}
    hashes = set()
    for value in (1, 1.0, True, 1):
        small["reservations"]["R7"]["bags"] = value
        assert data_hash(small) == data_hash_reference(small)
        hashes.add(data_hash(small))
    assert len(hashes) == 3
    for odd in ({"one": {"only": 1}}, {"a": [1, (2, 3)]}, [1, 2], "text", {"a": {"b": {"c": object}}}):
        assert data_hash(odd) == data_hash_reference(odd)


def test_to_hashable():
    assert to_hashable({"b": [1, {"d": 2, "c": 3}], "a": {2, 1}}) == (("a", (1, 2)), ("b", (1, (("c", 3), ("d", 2)))))
    assert data_hash({}) == data_hash_reference({})
    assert data_hash({"only": {"one": 1}}) == data_hash_reference({"only": {"one": 1}})


# --- perturbed gold scores 0 ---------------------------------------------------------------------------


def _last_write(name, task, recorded):
    """Index of the last gold write action that succeeded."""
    writes = write_tools(name)
    found = [i for i, (a, s) in enumerate(zip(task.actions, recorded["steps"]))
             if a.name in writes and not _is_error(s["observation"])]
    return found[-1] if found else None


def _sample(name, per_tool=2):
    """Tasks whose gold changes the data, up to `per_tool` for each kind of last write."""
    dom = domain(name)
    chosen, counts = [], {}
    for task, recorded in zip(dom.tasks, golden_replay(name)):
        i = _last_write(name, task, recorded)
        if i is None:
            continue
        kind = task.actions[i].name
        if counts.get(kind, 0) < per_tool:
            counts[kind] = counts.get(kind, 0) + 1
            chosen.append((task, i))
    return chosen


def _other_variant(db, order_id, item_id, avoid):
    order = db["orders"][order_id]
    item = next(it for it in order["items"] if it["item_id"] == item_id)
    variants = db["products"][item["product_id"]]["variants"]
    return next((v for v, info in variants.items() if info["available"] and v not in avoid), None)


def _wrong_value(db, name, kwargs):
    """The same call with one argument changed to another value the schema allows."""
    kw = copy.deepcopy(kwargs)
    if name == "cancel_pending_order":
        kw["reason"] = "ordered by mistake" if kw["reason"] == "no longer needed" else "no longer needed"
    elif name in ("modify_pending_order_address", "modify_user_address"):
        kw["address1"] += " Apt 2"
    elif name in ("exchange_delivered_order_items", "modify_pending_order_items"):
        other = _other_variant(db, kw["order_id"], kw["item_ids"][0], {kw["item_ids"][0], kw["new_item_ids"][0]})
        kw["new_item_ids"][0] = other or kw["new_item_ids"][0] + "0"
    elif name == "return_delivered_order_items":
        kw["item_ids"] = kw["item_ids"][:-1]
    elif name == "modify_pending_order_payment":
        order = db["orders"][kw["order_id"]]
        methods = db["users"][order["user_id"]]["payment_methods"]
        used = {kw["payment_method_id"], order["payment_history"][0]["payment_method_id"]}
        kw["payment_method_id"] = next(m for m in methods if m not in used)
    elif name in ("book_reservation", "update_reservation_baggages"):
        kw["total_baggages"] += 1
    elif name == "cancel_reservation":
        user = db["reservations"][kw["reservation_id"]]["user_id"]
        kw["reservation_id"] = next(r for r in db["users"][user]["reservations"] if r != kw["reservation_id"])
    elif name == "update_reservation_flights":
        kw["cabin"] = "business" if kw["cabin"] != "business" else "economy"
    elif name == "update_reservation_passengers":
        kw["passengers"][0]["dob"] = "1999-09-09"
    elif name == "send_certificate":
        kw["amount"] += 50
    else:  # pragma: no cover - every write tool is listed above
        raise AssertionError(name)
    return kw


@pytest.mark.parametrize("name", ["retail", "airline"])
def test_wrong_argument_value_scores_zero(name, pristine):
    dom = domain(name)
    sample = _sample(name)
    assert {task.actions[i].name for task, i in sample} >= (
        {"cancel_pending_order", "modify_pending_order_items", "return_delivered_order_items",
         "exchange_delivered_order_items", "modify_user_address"} if name == "retail"
        else {"book_reservation", "cancel_reservation", "update_reservation_flights", "send_certificate"})
    succeeded = 0
    for task, i in sample:
        action = task.actions[i]
        actions = list(task.actions)
        actions[i] = Action(action.name, _wrong_value(pristine[name], action.name, action.kwargs))
        data, seen = dom.replay(actions)
        succeeded += not _is_error(seen[i])
        assert reward(task, data, task.outputs) == 0.0, (task.id, actions[i])
    # Most perturbed calls go through and change the data differently: the hash notices.
    assert succeeded >= len(sample) * 2 // 3


def _swaps(name, kwargs, db):
    """Other write tools given the same intent, where one takes the same arguments."""
    if name == "return_delivered_order_items":
        yield "exchange_delivered_order_items", {**kwargs, "new_item_ids": list(kwargs["item_ids"])}
    elif name == "exchange_delivered_order_items":
        yield "return_delivered_order_items", {k: kwargs[k] for k in ("order_id", "item_ids", "payment_method_id")}
    elif name == "modify_pending_order_items":
        yield "cancel_pending_order", {"order_id": kwargs["order_id"], "reason": "no longer needed"}
    elif name == "cancel_pending_order":
        order = db["orders"][kwargs["order_id"]]
        yield "modify_pending_order_address", {"order_id": kwargs["order_id"], **order["address"], "zip": "00000"}
    elif name == "modify_pending_order_address":
        user_id = db["orders"][kwargs["order_id"]]["user_id"]
        yield "modify_user_address", {**{k: v for k, v in kwargs.items() if k != "order_id"}, "user_id": user_id}
    elif name == "modify_user_address":
        order_id = next(o for o, order in db["orders"].items() if order["user_id"] == kwargs["user_id"])
        yield "modify_pending_order_address", {**{k: v for k, v in kwargs.items() if k != "user_id"},
                                               "order_id": order_id}
    elif name == "cancel_reservation":
        reservation = db["reservations"][kwargs["reservation_id"]]
        yield "update_reservation_baggages", {"reservation_id": kwargs["reservation_id"],
                                              "total_baggages": reservation["total_baggages"] + 1,
                                              "nonfree_baggages": reservation["nonfree_baggages"],
                                              "payment_id": reservation["payment_history"][0]["payment_id"]}
    elif name == "update_reservation_baggages":
        yield "cancel_reservation", {"reservation_id": kwargs["reservation_id"]}
    elif name == "send_certificate":
        user = db["users"][kwargs["user_id"]]
        yield "cancel_reservation", {"reservation_id": user["reservations"][0]}


def _same_arguments_swaps(name, kwargs):
    """Every other write tool of the domain with the very same arguments (mostly refused)."""
    for other in sorted(write_tools("retail" if name in write_tools("retail") else "airline") - {name}):
        yield other, kwargs


@pytest.mark.parametrize("name", ["retail", "airline"])
def test_swapped_write_tool_scores_zero(name, pristine):
    dom = domain(name)
    checked = 0
    for n, (task, i) in enumerate(_sample(name, per_tool=1)):
        action = task.actions[i]
        swaps = list(_swaps(action.name, action.kwargs, pristine[name]))
        if n == 0:
            swaps += _same_arguments_swaps(action.name, action.kwargs)
        for other, kwargs in swaps:
            actions = list(task.actions)
            actions[i] = Action(other, kwargs)
            data, _ = dom.replay(actions)
            assert reward(task, data, task.outputs) == 0.0, (task.id, other)
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("name", ["retail", "airline"])
def test_missing_action_scores_zero(name):
    dom = domain(name)
    for task, i in _sample(name):
        data, _ = dom.replay(task.actions[:i] + task.actions[i + 1:])
        assert reward(task, data, task.outputs) == 0.0, task.id


def test_missing_required_output_scores_zero():
    tasks = [(t, g["gt_data_hash"]) for name in ("retail", "airline")
             for t, g in zip(domain(name).tasks, golden_replay(name), strict=True) if t.outputs]
    assert len(tasks) == 41
    for task, gold in tasks[::3]:
        data, _ = domain(task.domain).replay(task.actions)
        assert reward(task, data, task.outputs, gold_hash=gold) == 1.0
        for missing in task.outputs:
            said = [o for o in task.outputs if o != missing]
            assert reward(task, data, said, gold_hash=gold) == 0.0, (task.id, missing)
        assert reward(task, data, [], gold_hash=gold) == 0.0


def test_output_matching_is_upstreams():
    # Upstream: output.lower() in message.lower().replace(",", "")
    assert output_found("918.43", ["The total is 918.43 dollars."])
    assert output_found("1234.5", ["That comes to 1,234.5 in all."])
    assert output_found("Polyester", ["it is POLYESTER"])
    assert not output_found("1,234", ["1,234"])  # commas are removed from the message only
    assert not output_found("10", ["ten"])
    assert not output_found("10", [])


def test_reward_needs_the_data_of_the_gold_actions():
    task = domain("retail").tasks[0]
    untouched = fresh_data("retail")
    info = reward_info(task, untouched, [])
    assert info.reward == 0.0 and not info.data_matches
    assert info.gold_data_hash == gold_data_hash(task) == golden_replay("retail")[0]["gt_data_hash"]
    assert reward(task, untouched, "a single message as a str") == 0.0


# --- tools: schemas, validation, read/write, observations ----------------------------------------------


@pytest.mark.parametrize("name", ["retail", "airline"])
def test_model_visible_specs_are_tool_schemas_json(name):
    dom = domain(name)
    raw = json.loads(resources.files("agentzoo.envs").joinpath(
        "data", "tau_bench", name, "tool_schemas.json").read_text())
    tools = dom.tools(dom.fresh_data())
    assert ToolSet(tools).specs() == raw == list(dom.tool_schemas)
    for t, schema in zip(tools, raw, strict=True):
        assert (t.name, t.description, t.parameters) == (schema["function"]["name"], schema["function"]["description"],
                                                          schema["function"]["parameters"])
    writes = {t.name for t in tools if t.touches == frozenset({"write"})}
    reads = {t.name for t in tools if t.touches == frozenset({"read"})}
    assert writes == write_tools(name) and reads | writes == set(tool_functions(name)) and not reads & writes
    expected_writes = {
        "retail": {"cancel_pending_order", "exchange_delivered_order_items", "modify_pending_order_address",
                   "modify_pending_order_items", "modify_pending_order_payment", "modify_user_address",
                   "return_delivered_order_items"},
        "airline": {"book_reservation", "cancel_reservation", "send_certificate", "update_reservation_baggages",
                    "update_reservation_flights", "update_reservation_passengers"}}
    assert writes == expected_writes[name]


def _valid(schema):
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][-1]
    if kind == "object":
        return {key: _valid(sub) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_valid(schema["items"])]
    return {"string": "x", "integer": 2, "number": 2.5, "boolean": True}[kind]


def _invalid(schema):
    """Values the schema refuses."""
    kind = schema.get("type")
    if "enum" in schema:
        yield "not one of them"
    yield {"string": 7, "integer": "7", "number": "7", "array": "x", "object": "x"}[kind]
    if kind == "integer":
        yield from (7.5, True)
    if kind == "number":
        yield True
    if kind == "array":
        item = schema["items"]
        for bad in _invalid(item):
            yield [bad]
        if item.get("type") == "object":
            good = _valid(item)
            for key in item.get("required", []):
                yield [{k: v for k, v in good.items() if k != key}]
            for key, sub in item["properties"].items():
                for bad in _invalid(sub):
                    yield [{**good, key: bad}]


@pytest.mark.parametrize("name", ["retail", "airline"])
def test_tools_validate_arguments_per_the_schemas(name):
    dom = domain(name)
    refused = 0
    for t in dom.tools(dom.fresh_data()):
        params = t.parameters
        good = _valid(params)
        assert t.validate(good) == good
        for key in params.get("required", []):
            with pytest.raises(ToolArgumentsError):
                t.validate({k: v for k, v in good.items() if k != key})
            refused += 1
        for key, sub in params["properties"].items():
            for bad in _invalid(sub):
                with pytest.raises(ToolArgumentsError):
                    t.validate({**good, key: bad})
                refused += 1
        with pytest.raises(ToolArgumentsError):
            t.validate({**good, "unexpected": 1})
    assert refused > 50
    # Every gold argument passes, unchanged and with its JSON type kept (250 stays an int).
    by_name = {t.name: t for t in dom.tools(dom.fresh_data())}
    for task in dom.tasks:
        for action in task.actions:
            checked = by_name[action.name].validate(action.kwargs)
            assert json.dumps(checked, sort_keys=True) == json.dumps(action.kwargs, sort_keys=True)


async def test_tools_through_a_toolset():
    dom = domain("retail")
    data = dom.fresh_data()
    tools = ToolSet(dom.tools(data), max_result_chars=100_000)
    found = await tools.execute(ToolCall("1", "find_user_id_by_email", '{"email": "MIA.GARCIA2723@example.com"}'))
    assert (found.content, found.is_error) == ("mia_garcia_4516", False)
    missing = await tools.execute(ToolCall("2", "get_order_details", '{"order_id": "#W0"}'))
    assert (missing.content, missing.is_error) == ("Error: order not found", False)  # an observation, as upstream
    bad = await tools.execute(ToolCall("3", "cancel_pending_order", '{"order_id": "#W0", "reason": "bored"}'))
    assert bad.is_error and bad.error_type == "ToolArgumentsError" and "reason" in bad.content
    assert tools.get("cancel_pending_order").touches == frozenset({"write"})
    # The oracle: the gold actions of a task, as a model would send them, then the reward.
    task = dom.tasks[0]
    for n, action in enumerate(task.actions):
        outcome = await tools.execute(ToolCall(str(n), action.name, json.dumps(action.kwargs)))
        assert outcome.content == golden_replay("retail")[0]["steps"][n]["observation"]
    assert reward(task, data, []) == 1.0


def test_upstream_error_observations():
    db = fresh_data("retail")
    call = tool_functions("retail")
    assert call["get_product_details"](db, product_id="nope") == "Error: product not found"
    assert call["cancel_pending_order"](db, order_id="#W2378156", reason="no longer needed") == (
        "Error: non-pending order cannot be cancelled")
    # A failure inside a tool becomes "Error: <exception>", as upstream's Env.step does it.
    assert call["get_order_details"](db, order_id=["unhashable"]).startswith("Error: unhashable type")
    assert domain("retail").call(db, "no_such_tool", {}) == "Unknown action no_such_tool"
    air = fresh_data("airline")
    acall = tool_functions("airline")
    assert acall["get_reservation_details"](air, reservation_id="NOPE00") == "Error: user not found"  # sic
    assert acall["cancel_reservation"](air, reservation_id="NOPE00") == "Error: reservation not found"
    assert acall["think"](air, thought="hmm") == ""
    assert acall["transfer_to_human_agents"](air, summary="help") == "Transfer successful"
    assert json.loads(acall["list_all_airports"](air))["LGA"] == "LaGuardia"


@pytest.mark.parametrize(("expression", "answer"), [
    ("2 + 2", "4.0"),
    ("430 + 412 - (136 + 109)", "597.0"),
    ("652.61 - 642.72", "9.89"),
    ("1 / 3", "0.33"),
    ("2 ** 3", "8.0"),
    ("-(2)", "-2.0"),
    ("1 / 0", "Error: division by zero"),
    ("1 +", "Error: invalid syntax (<string>, line 1)"),
    ("()", "Error: float() argument must be a string or a real number, not 'tuple'"),
    ("(1)(2)", "Error: 'int' object is not callable"),
    ("2 ** 99999999", "Error: exponent too large"),
    ("__import__('os')", "Error: invalid characters in expression"),
    ("2 * x", "Error: invalid characters in expression"),
])
def test_calculate(expression, answer):
    for name in ("retail", "airline"):
        assert tool_functions(name)["calculate"]({}, expression=expression) == answer


# --- data: fresh and independent per task ---------------------------------------------------------------


def test_each_task_gets_its_own_data():
    dom = domain("airline")
    a, b = dom.fresh_data(), dom.fresh_data()
    assert a == b and a is not b and a["users"] is not b["users"]
    first_user = next(iter(a["users"]))
    assert a["users"][first_user] is not b["users"][first_user]
    c = dom.fresh_data()
    c["users"][first_user]["payment_methods"].clear()
    c["flights"].clear()
    assert b["users"][first_user]["payment_methods"] and b["flights"]
    assert dom.fresh_data() == b
    # Tools bound to one episode's data change only that data.
    task = dom.tasks[0]  # books a reservation
    tools_a = {t.name: t for t in dom.tools(a)}
    before_b = data_hash(b)
    tools_a["book_reservation"](**task.actions[0].kwargs)
    assert "HATHAT" in a["reservations"] and "HATHAT" not in b["reservations"]
    assert data_hash(b) == before_b
    # The data never shares objects with the task's gold arguments.
    data, _ = dom.replay(task.actions)
    data["reservations"]["HATHAT"]["passengers"].append({"first_name": "X"})
    assert len(task.actions[0].kwargs["passengers"]) == 1
    assert reward(task, dom.replay(task.actions)[0], task.outputs) == 1.0


# --- loader --------------------------------------------------------------------------------------------


def test_load_domain(tmp_path):
    retail = domain("retail")
    assert retail.policy.startswith("# Retail agent policy") and retail.terminate_tools == {"transfer_to_human_agents"}
    assert retail.rules and not domain("airline").rules
    assert available_splits("retail") == ["dev", "test"] and available_splits("airline") == ["test"]
    task = retail.tasks[3]
    assert task.id == "retail/test/3" and task.index == 3 and task.user_id and task.instruction
    assert retail.task(3) is task
    with pytest.raises(AttributeError):
        task.instruction = "changed"  # frozen
    with pytest.raises(ValueError, match="no split 'train'"):
        load_domain("retail", split="train")
    with pytest.raises(ValueError, match="unknown tau-bench domain"):
        load_domain("telecom")
    lines = resources.files("agentzoo.envs").joinpath(
        "data", "tau_bench", "retail", "tasks_test.jsonl").read_text().splitlines()[:2]
    row = json.loads(lines[1])
    row["note"] = "extra field"
    custom = tmp_path / "mine.jsonl"
    custom.write_text(lines[0] + "\n" + json.dumps(row) + "\n")
    mine = load_domain("retail", tasks_file=custom)
    assert [t.id for t in mine.tasks] == ["retail/mine/0", "retail/mine/1"]
    assert mine.tasks[1].extra == {"note": "extra field"} and mine.tasks[1].actions == retail.tasks[1].actions
    packed = tmp_path / "packed.jsonl.gz"
    packed.write_bytes(gzip.compress(custom.read_bytes()))
    assert load_domain("retail", tasks_file=str(packed)).tasks[0].actions == retail.tasks[0].actions


def test_packaged_data_files():
    for name, parts in (("retail", ("orders", "products", "users")), ("airline", ("flights", "reservations", "users"))):
        folder = resources.files("agentzoo.envs").joinpath("data", "tau_bench", name)
        for part in parts:
            assert folder.joinpath(f"{part}.json.gz").is_file()
        for file in ("SOURCE.txt", "wiki.md", "tool_schemas.json", "env_meta.json", "tasks_test.jsonl",
                     "golden_replay_test.jsonl.gz"):
            assert folder.joinpath(file).is_file(), file
        assert "Copied into agentzoo" in folder.joinpath("SOURCE.txt").read_text()


# --- the scripted user ------------------------------------------------------------------------------------


async def test_scripted_user():
    task = domain("retail").tasks[0]  # Yusuf Rossi, 19122, order #W2378156
    user = ScriptedUser(task)
    assert isinstance(user, UserSimulator)
    opening = await user.respond([])
    assert opening == f"Hi! {task.instruction}"
    said = [{"role": "user", "content": opening}]

    def ask(text):
        said.append({"role": "assistant", "content": text})
        answer = user.reply(said)
        said.append({"role": "user", "content": answer})
        return answer

    assert ask("Could you tell me your name and zip code?") == "My name is Yusuf Rossi. My zip code is 19122."
    assert ask("What is your email?") == "I don't know my email."
    assert ask("Which order id is it?") == "The order id is #W2378156."
    assert "Yes, please proceed." in ask("Shall I exchange the items? Please confirm (yes/no).")
    assert STOP in ask("Done. Have a nice day.")
    again = ScriptedUser(task)
    assert again.reply([]) == opening  # deterministic
    assert ScriptedUser(domain("airline").tasks[0]).reply(
        [{"role": "assistant", "content": "Your user id, please?"}]) == "My user id is mia_li_3668."
