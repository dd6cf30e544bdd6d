"""Records made with a quick `__init__` (`agentzoo._records.quick_init`: Entry, ModelRequest, ModelResponse)
behave exactly as the frozen dataclasses they are: frozen, equal by value, with their
defaults (a fresh list each), their signature and their errors, picklable, copyable and replaceable."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle

import pytest

from agentzoo._records import quick_init
from agentzoo.runtime.entry import Entry
from agentzoo.types import ModelRequest, ModelResponse, Usage


def _entry(**changes):
    fields = dict(run_id="r1", scope="team/coder#2", seq=3, kind="tool", name="add", request={"a": 1},
                  request_hash="h", result={"x": 2}, usage=Usage(4, 5), cost_usd=0.25)
    return Entry(**{**fields, **changes})


def test_the_records_stay_frozen():
    for record, name in ((_entry(), "seq"), (ModelRequest(messages=[]), "tools"), (ModelResponse(message={}), "model")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(record, name)
        assert type(record).__name__ in repr(record)


def test_fields_positional_keyword_and_default_land_where_they_belong():
    by_position = Entry("r1", "team/coder#2", 3, "tool", "add", {"a": 1}, "h", {"x": 2}, "ok", None, Usage(4, 5), 0.25)
    assert by_position == _entry() and by_position != _entry(seq=4)
    assert (by_position.status, by_position.error, by_position.started_at,
            by_position.side_effects) == ("ok", None, 0.0, False)
    first, second = ModelRequest(messages=[]), ModelRequest(messages=[])
    assert first.tools == [] and first.tools is not second.tools  # default_factory: a list of its own each
    assert first.extra == {} and first.extra is not second.extra
    assert ModelResponse(message={"role": "assistant"}).usage == Usage()


def test_wrong_arguments_are_the_same_type_errors_naming_the_class():
    with pytest.raises(TypeError, match=r"Entry.__init__\(\) missing 1 required positional argument: 'request_hash'"):
        Entry("r", "", 0, "tool", "add", {})
    with pytest.raises(TypeError, match=r"ModelRequest.__init__\(\) got an unexpected keyword argument 'mesages'"):
        ModelRequest(mesages=[])


def test_pickle_copy_replace_and_signature_are_unchanged():
    entry = _entry()
    assert pickle.loads(pickle.dumps(entry)) == entry
    assert copy.copy(entry) == entry and copy.deepcopy(entry) == entry
    moved = dataclasses.replace(entry, seq=9)
    assert type(moved) is Entry and moved.seq == 9 and moved.request == entry.request
    assert list(inspect.signature(Entry).parameters)[:3] == ["run_id", "scope", "seq"]


def test_a_subclass_with_a_layout_of_its_own_is_made_the_frozen_way():
    class Tagged(Entry):
        __slots__ = ("tag",)

    tagged = Tagged("r1", "", 0, "tool", "add", {}, "h")
    assert type(tagged) is Tagged and tagged.run_id == "r1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tagged.seq = 1


def test_only_frozen_slotted_dataclasses_are_taken():
    @dataclasses.dataclass(slots=True)
    class Loose:
        x: int

    with pytest.raises(TypeError, match="must be a frozen dataclass with slots=True"):
        quick_init(Loose)
