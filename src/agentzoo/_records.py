"""Frozen records that are quick to make.

A frozen dataclass's `__init__` sets each field with `object.__setattr__` (its own `__setattr__` refuses),
a call through CPython's generic slot wrapper: ~560 instructions a field, where an unfrozen class's store
is a few dozen. The runtime makes several such records at every step (an `Entry` of 15 fields per effect,
a request, a response): ~79 fields set that way, ~8 % of an in-process step's instructions (callgrind).

`quick_init` keeps a frozen, slotted dataclass as it is (frozen, equal by value, picklable, with the
same signature and errors) and swaps its `__init__` for one that lends the new object, for the time of
the stores, the class of an unfrozen twin with the same slots: two class assignments instead of one
wrapper call per field. It pays from about five fields; below that the plain frozen `__init__` is cheaper.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

T = TypeVar("T")

_set = object.__setattr__


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass `cls` an `__init__` that stores its fields at plain speed."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__ or cls.__bases__ != (object,):
        raise TypeError(f"quick_init: {cls.__qualname__} must be a frozen dataclass with slots=True and no base")
    twin = _unfrozen_twin(cls)
    twin_init, frozen_init = twin.__init__, cls.__init__

    @functools.wraps(frozen_init)  # its signature and name, for help() and inspect
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if type(self) is not cls:  # a subclass may not share the layout: the frozen way
            frozen_init(self, *args, **kwargs)
            return
        _set(self, "__class__", twin)
        try:
            twin_init(self, *args, **kwargs)
        finally:
            _set(self, "__class__", cls)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def _unfrozen_twin(cls: type) -> type:
    """A dataclass with `cls`'s fields (same names, order, defaults) and slots, not frozen: an object can
    take either class, and the twin's generated `__init__` is `cls`'s without the wrapper calls."""
    namespace: dict[str, Any] = {"__annotations__": {}, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    for f in dataclasses.fields(cls):
        namespace["__annotations__"][f.name] = f.type
        namespace[f.name] = dataclasses.field(default=f.default, default_factory=f.default_factory, init=f.init)
    twin = dataclasses.dataclass(type(cls.__name__, (), namespace), slots=True, repr=False, eq=False)
    if twin.__slots__ != cls.__slots__:  # the class swap needs the very same layout
        raise TypeError(f"quick_init: {cls.__qualname__}'s slots {cls.__slots__} are not its fields")
    return twin
