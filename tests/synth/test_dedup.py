"""agentzoo.synth.dedup: exact and near-duplicate rows dropped, the first kept, each drop reported."""

import json

import pytest

from agentzoo.errors import ConfigError
from agentzoo.synth.dedup import dedup, shingles

pytest.importorskip("datasketch")

STORY = ("The lighthouse keeper climbed the spiral stairs every evening at dusk, trimmed the wick, polished the "
         "great lens until it shone, and wrote the weather in a leather log book that his grandfather had started "
         "sixty years before, when ships still came around the northern cape under sail.")


def row(user: str, answer: str, n: int = 0, system: str = "You help.") -> dict:
    return {"kind": "sft",
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                         {"role": "assistant", "content": answer}],
            "provenance": {"pipeline": "demo", "stage": "write", "run_id": "r", "scope": f"item#{n}"}}


def test_exact_duplicates_ignore_case_white_space_and_the_system_prompt():
    rows = [row("Tell me about the lighthouse.", STORY, 0),
            row("tell me   about the\nLIGHTHOUSE.", STORY.upper(), 1, system="Another system prompt."),
            row("Tell me about the harbour.", "Boats.", 2),
            row("Tell me about the lighthouse.", STORY, 3)]
    kept, report = dedup(rows)
    assert [r["provenance"]["scope"] for r in kept] == ["item#0", "item#2"]
    assert (report.total, report.kept, report.exact, report.near) == (4, 2, 2, 0)
    assert report.dropped == [{"index": 1, "duplicate_of": 0, "how": "exact", "similarity": 1.0},
                              {"index": 3, "duplicate_of": 0, "how": "exact", "similarity": 1.0}]


def test_a_near_duplicate_is_dropped_at_the_threshold_and_kept_above_it():
    words = STORY.split()
    edited = " ".join(words[:-1] + ["oars."])  # one word of fifty changed: most 5-word shingles survive
    rows = [row("Tell me about the lighthouse.", STORY, 0), row("Tell me about the lighthouse.", edited, 1),
            row("Tell me about the harbour.", "It shelters forty fishing boats from the winter storms.", 2)]
    a, b = (shingles(" ".join(("user tell me about the lighthouse assistant " + t).lower().split())) for t in (STORY, edited))
    similarity = len(a & b) / len(a | b)
    assert 0.8 < similarity < 1
    kept, report = dedup(rows, near=0.8)
    assert [r["provenance"]["scope"] for r in kept] == ["item#0", "item#2"]
    assert report.near == 1 and report.exact == 0
    (dropped,) = report.dropped
    assert dropped["index"] == 1 and dropped["duplicate_of"] == 0 and dropped["how"] == "near"
    assert dropped["similarity"] == pytest.approx(similarity, abs=1e-4)
    kept, report = dedup(rows, near=similarity + 0.01)  # a stricter threshold keeps it
    assert len(kept) == 3 and report.near == 0


def test_each_later_row_points_at_the_first_row_of_its_group_and_results_repeat():
    base = [row("Tell me about the lighthouse.", f"{STORY} Variant {k}.", k) for k in range(6)]  # one shingle apart
    unrelated = [row(f"Recipe {k}", f"Mix {k} cups of flour with water, knead for {k + 5} minutes, rest, then bake "
                                   f"at {180 + k} degrees until golden; cool on a rack before slicing {k}.", 10 + k)
                 for k in range(3)]
    rows = [base[0], unrelated[0], base[1], unrelated[1], base[2], base[3], unrelated[2], base[4], base[5]]
    kept, report = dedup(rows)
    assert [r["provenance"]["scope"] for r in kept] == ["item#0", "item#10", "item#11", "item#12"]
    assert {d["index"]: d["duplicate_of"] for d in report.dropped} == {2: 0, 4: 0, 5: 0, 7: 0, 8: 0}
    assert dedup(rows)[1].to_json() == report.to_json()  # deterministic


def test_preference_rows_compare_prompt_chosen_and_rejected():
    def pair(rejected: str, n: int) -> dict:
        return {"kind": "preference", "prompt": [{"role": "user", "content": "Describe the keeper."}],
                "chosen": [{"role": "assistant", "content": STORY}],
                "rejected": [{"role": "assistant", "content": rejected}],
                "provenance": {"pipeline": "demo", "stage": "pair", "run_id": "r", "scope": f"pair#{n}"}}

    lazy = "He was lazy: " + " ".join(f"he skipped evening {k} and let the lamp go dark," for k in range(6))
    other = "He never kept any log at all, and the ships that passed the cape had to find their own way home."
    kept, report = dedup([pair(lazy, 0), pair(lazy, 1), pair(other, 2)])
    assert [r["provenance"]["scope"] for r in kept] == ["pair#0", "pair#2"]  # another rejected reply: another pair
    assert (report.exact, report.near) == (1, 0)


def test_the_report_serialises_and_renders_a_table():
    rows = [row("a question about tides", STORY, 0), row("A question about tides", STORY, 1)]
    _, report = dedup(rows)
    assert json.loads(json.dumps(report.to_json()))["dropped"][0]["duplicate_of"] == 0
    table = report.to_markdown()
    assert "| exact duplicates dropped | 1 |" in table and "| kept | 1 |" in table
    assert "| 1 | 0 | exact | 1.00 |" in table


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="near"):
        dedup([], near=0)
    with pytest.raises(ConfigError, match="row 0: provenance"):
        dedup([{"kind": "sft", "messages": [{"role": "assistant", "content": "x"}], "provenance": {}}])
