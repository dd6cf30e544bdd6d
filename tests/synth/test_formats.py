"""agentzoo.synth rows and the files trainers read: OpenAI, ShareGPT, TRL preference, Parquet, HF datasets."""

import json

import pytest

from agentzoo.errors import ConfigError
from agentzoo.synth.formats import FORMATS, write_dataset
from agentzoo.synth.rows import validate_row


def prov(n: int, **extra) -> dict:
    return {"pipeline": "demo", "stage": "judge", "run_id": f"run{n}", "scope": f"item#{n}/agent", **extra}


def call(name: str, arguments: str, id_: str = "c1") -> dict:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


TOOLS = [{"type": "function", "function": {"name": "add", "description": "Add two numbers",
                                           "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}}]


def sft_row(n: int = 0) -> dict:
    return {
        "kind": "sft",
        "messages": [
            {"role": "system", "content": "You add numbers."},
            {"role": "user", "content": f"What is {n} + 2?"},
            {"role": "assistant", "content": "Let me add.", "tool_calls": [call("add", json.dumps({"a": n, "b": 2}))],
             "reasoning_content": "a provider's extra field"},
            {"role": "tool", "tool_call_id": "c1", "content": str(n + 2)},
            {"role": "assistant", "content": f"{n + 2}"},
        ],
        "tools": TOOLS,
        "loss": [False, True],
        "provenance": prov(n, scores={"rubric": 4.5}),
    }


def pref_row(n: int = 0) -> dict:
    return {
        "kind": "preference",
        "prompt": [{"role": "user", "content": f"Add {n} and 2."}],
        "chosen": [{"role": "assistant", "content": None, "tool_calls": [call("add", json.dumps({"a": n, "b": 2}))]},
                   {"role": "tool", "tool_call_id": "c1", "content": str(n + 2)},
                   {"role": "assistant", "content": f"{n + 2}"}],
        "rejected": [{"role": "assistant", "content": "I cannot add."}],
        "tools": TOOLS,
        "provenance": prov(100 + n, scores={"value": 0.33}),
    }


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the row shape ----------------------------------------------------------------------------------------


def _without(row: dict, *path) -> dict:
    row = json.loads(json.dumps(row))
    target = row
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return row


def _with(row: dict, path: tuple, value) -> dict:
    row = json.loads(json.dumps(row))
    target = row
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return row


@pytest.mark.parametrize("row, says", [
    (_without(sft_row(), "provenance", "run_id"), "row 7: provenance.run_id: missing"),
    (_with(sft_row(), ("provenance", "scope"), 3), "row 7: provenance.scope: must be text"),
    (_with(sft_row(), ("loss",), [True]), "row 7: loss: 1 flags for 2 assistant messages"),
    (_with(sft_row(), ("loss",), [1, 0]), "row 7: loss: a list of true/false"),
    (_with(sft_row(), ("messages", 1, "role"), "robot"), "row 7: messages[1].role: 'robot' is not one of"),
    (_without(sft_row(), "messages", 3, "tool_call_id"), "row 7: messages[3].tool_call_id"),
    (_with(sft_row(), ("messages", 2, "tool_calls", 0, "function", "arguments"), {"a": 1}),
     "row 7: messages[2].tool_calls[0].function.arguments"),
    (_with(sft_row(), ("messages",), [{"role": "user", "content": "hi"}]), "row 7: messages: no assistant message"),
    (_with(sft_row(), ("provenence",), {}), "row 7: provenence: not a field of a sft row"),
    (_with(sft_row(), ("kind",), "rl"), "row 7: kind: 'rl' is not one of sft, preference"),
    (_with(pref_row(), ("chosen",), [{"role": "tool", "tool_call_id": "c", "content": "x"}]),
     "row 7: chosen[0].role: a continuation starts with an assistant message"),
    (_with(pref_row(), ("rejected", 0, "role"), "user"), "row 7: rejected[0].role: 'user' is not one of assistant, tool"),
    (_with(pref_row(), ("tools",), [{"name": "add"}]), "row 7: tools[0]: an OpenAI tool schema"),
])
def test_a_bad_row_is_refused_naming_its_index_and_field(row, says):
    with pytest.raises(ConfigError) as err:
        validate_row(row, 7)
    assert str(err.value).startswith(says)


def test_good_rows_pass_and_a_bad_row_writes_nothing(tmp_path):
    assert validate_row(sft_row(), 0) and validate_row(pref_row(), 1)
    with pytest.raises(ConfigError, match="row 1: provenance.stage: missing"):
        write_dataset([sft_row(), _without(sft_row(1), "provenance", "stage")], tmp_path / "out", ["jsonl"])
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="unknown dataset format 'alpaca'"):
        write_dataset([sft_row()], tmp_path / "out", ["jsonl", "alpaca"])


# --- each format ------------------------------------------------------------------------------------------


def test_openai_sft_lines_carry_tools_and_loss_as_weight_and_provenance_in_a_sidecar(tmp_path):
    rows = [sft_row(0), sft_row(1)]
    del rows[1]["loss"]  # no flags: every assistant message is learned, and no weight is written
    files = write_dataset(rows, tmp_path, ["openai"])
    assert set(files) == {"openai"}  # no preference rows: no preference file
    first, second = lines(files["openai"])
    assert first["tools"] == TOOLS
    assert first["messages"][2] == {"role": "assistant", "content": "Let me add.", "weight": 0,
                                    "tool_calls": [call("add", '{"a": 0, "b": 2}')]}  # the provider's extra key is gone
    assert first["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "2"}
    assert first["messages"][4] == {"role": "assistant", "content": "2", "weight": 1}
    assert all("weight" not in m for m in second["messages"])
    sidecar = lines(tmp_path / "openai.provenance.jsonl")
    assert [p["run_id"] for p in sidecar] == ["run0", "run1"]  # line N is line N's provenance
    assert sidecar[0]["scores"] == {"rubric": 4.5}


def test_openai_preference_rows_go_to_their_own_file_in_openai_preference_shape(tmp_path):
    files = write_dataset([sft_row(0), pref_row(0), pref_row(1)], tmp_path, ["openai"])
    assert set(files) == {"openai", "openai-preference"}
    assert len(lines(files["openai"])) == 1
    pair = lines(files["openai-preference"])[1]
    assert set(pair) == {"input", "preferred_output", "non_preferred_output"}
    assert pair["input"] == {"messages": [{"role": "user", "content": "Add 1 and 2."}], "tools": TOOLS}
    assert pair["preferred_output"][0]["tool_calls"] == [call("add", '{"a": 1, "b": 2}')]
    assert pair["non_preferred_output"] == [{"role": "assistant", "content": "I cannot add."}]
    assert [p["run_id"] for p in lines(tmp_path / "openai.preference.provenance.jsonl")] == ["run100", "run101"]


def test_sharegpt_turns_take_the_loss_of_the_assistant_message_they_came_from(tmp_path):
    files = write_dataset([sft_row(0), pref_row(0)], tmp_path, ["sharegpt"])
    (row,) = lines(files["sharegpt"])  # the preference row has no place in ShareGPT
    assert row["system"] == "You add numbers."
    assert [(t["from"], t["loss"]) for t in row["conversations"]] == [
        ("human", False), ("gpt", False), ("function_call", False), ("observation", False), ("gpt", True)]
    assert json.loads(row["conversations"][2]["value"]) == {"name": "add", "arguments": {"a": 0, "b": 2}}
    assert row["metadata"] == prov(0, scores={"rubric": 4.5})
    assert json.loads(row["tools"])[0]["name"] == "add"


def test_dpo_rows_are_trl_conversational_preference_with_tools_and_provenance(tmp_path):
    files = write_dataset([sft_row(0), pref_row(3)], tmp_path, ["dpo"])
    (row,) = lines(files["dpo"])
    assert set(row) == {"prompt", "chosen", "rejected", "tools", "provenance"}
    assert row["prompt"] == [{"role": "user", "content": "Add 3 and 2."}]
    assert row["chosen"][0]["tool_calls"][0]["function"]["arguments"] == {"a": 3, "b": 2}  # an object, as TRL shows
    assert row["chosen"][1:] == [{"role": "tool", "tool_call_id": "c1", "content": "5"},
                                 {"role": "assistant", "content": "5"}]
    assert json.loads(row["tools"]) == TOOLS
    assert row["provenance"]["run_id"] == "run103"
    assert write_dataset([sft_row()], tmp_path / "sft-only", ["dpo", "sharegpt"]).keys() == {"sharegpt"}


def test_parquet_keeps_every_row_and_its_provenance_and_says_which_columns_are_json(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [sft_row(0), pref_row(1), sft_row(2)]
    rows[2]["messages"][1]["content"] = [{"type": "text", "text": "What is 2 + 2?"}]  # content parts, not text
    files = write_dataset(rows, tmp_path, ["parquet"])
    table = pq.read_table(files["parquet"])
    assert table.num_rows == 3 and table.column("kind").to_pylist() == ["sft", "preference", "sft"]
    assert [p["run_id"] for p in table.column("provenance").to_pylist()] == ["run0", "run101", "run2"]
    assert table.column("provenance").to_pylist()[1]["scores"]["value"] == 0.33
    as_json = json.loads(table.schema.metadata[b"agentzoo.json_columns"])
    assert as_json == ["messages"]  # text here, parts there: pyarrow cannot type it alike
    assert json.loads(table.column("messages").to_pylist()[2])[1]["content"][0]["text"] == "What is 2 + 2?"
    assert table.column("loss").to_pylist() == [[False, True], None, [False, True]]


def test_parquet_writes_rows_whose_provenance_holds_an_empty_dict_everywhere(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [sft_row(0), sft_row(1)]
    for row in rows:
        row["provenance"]["scores"] = {}  # a pipeline whose stages attach no notes
    files = write_dataset(rows, tmp_path, ["parquet"])
    table = pq.read_table(files["parquet"])
    assert [json.loads(p)["scores"] for p in table.column("provenance").to_pylist()] == [{}, {}]
    assert "provenance" in json.loads(table.schema.metadata[b"agentzoo.json_columns"])


def test_jsonl_loads_with_datasets_and_the_hf_folder_with_load_from_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [sft_row(n) for n in range(4)] + [pref_row(n) for n in range(3)]
    files = write_dataset(rows, tmp_path / "out", ["jsonl", "hf"])
    assert set(files) == {"jsonl", "hf"}
    loaded = datasets.load_dataset("json", data_files=str(files["jsonl"]), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 7
    assert loaded[0]["provenance"]["scope"] == "item#0/agent" and loaded[6]["provenance"]["run_id"] == "run102"
    assert loaded[5]["kind"] == "preference" and loaded[5]["rejected"][0]["content"] == "I cannot add."
    folder = datasets.load_from_disk(str(files["hf"]))
    assert folder.num_rows == 7
    assert [r["run_id"] for r in folder["provenance"]] == [f"run{n}" for n in range(4)] + ["run100", "run101", "run102"]
    assert folder[0]["provenance"]["scores"]["rubric"] == 4.5
    assert folder[2]["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"a": 2, "b": 2}'


def test_every_format_at_once_and_an_empty_dataset(tmp_path):
    pytest.importorskip("datasets")
    files = write_dataset([sft_row(0), pref_row(0)], tmp_path / "all", FORMATS)
    assert set(files) == {"jsonl", "openai", "openai-preference", "sharegpt", "dpo", "parquet", "hf"}
    assert all(p.exists() and p.parent == tmp_path / "all" for p in files.values())
    again = write_dataset([sft_row(5)], tmp_path / "all", FORMATS)  # written again into the same folder
    assert set(again) == {"jsonl", "openai", "sharegpt", "parquet", "hf"}
    assert not (tmp_path / "all" / "dpo.jsonl").exists()  # no stale file of the earlier dataset stays
    assert not (tmp_path / "all" / "openai.preference.provenance.jsonl").exists()
    import datasets
    assert datasets.load_from_disk(str(again["hf"]))["provenance"] == [prov(5, scores={"rubric": 4.5})]
    (tmp_path / "mine" / "hf").mkdir(parents=True)
    with pytest.raises(ConfigError, match="is not a Hugging Face datasets folder"):
        write_dataset([sft_row()], tmp_path / "mine", ["hf"])
    empty = write_dataset([], tmp_path / "empty", FORMATS)
    assert set(empty) == {"jsonl", "parquet", "hf"}  # the formats of all rows say "no rows"; the others write nothing
    assert (tmp_path / "empty" / "rows.jsonl").read_text() == ""
