"""`quick`: a frozen dataclass's `__init__`, written to store its fields
directly. Events, commands and facts stay frozen dataclasses; only the way
their fields are first stored changes.

Why: the `__init__` that `dataclass(frozen=True)` writes stores each field
through `object.__setattr__(self, name, value)`, which looks the name up
again for every field of every object, and a simulated week builds about
twenty of these objects a call (seven million). The one written here
stores a field through the slot's own descriptor (`slots=True` classes) or
straight into the instance dict (the others): the same values in the same
places, in about half the time per object (timeit, six fields: 0.42 us
against 0.87 us), a twentieth less for the simulated week (bench/RESULTS.md,
"where the time goes"). Assignment after `__init__` still raises
FrozenInstanceError.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

T = TypeVar("T")


def quick(cls: type[T]) -> type[T]:
    """Replace `cls.__init__` (a frozen dataclass without `__post_init__`,
    `field(init=False)`, keyword-only fields or default factories) by one of
    the same signature that stores the fields directly."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    params = getattr(cls, "__dataclass_params__")
    if not params.frozen or hasattr(cls, "__post_init__"):
        raise TypeError(f"quick: {cls.__name__} is not a plain frozen dataclass")
    names, env = [], {}
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"quick: {cls.__name__}.{f.name} is not a plain field")
        if f.default is dataclasses.MISSING:
            names.append(f.name)
        else:
            env[f"_d_{f.name}"] = f.default
            names.append(f"{f.name}=_d_{f.name}")
    slots = {f.name: _slot(cls, f.name) for f in fields}
    body = ["    d = self.__dict__"] if None in slots.values() else []
    for f in fields:
        slot = slots[f.name]
        if slot is None:
            body.append(f"    d[{f.name!r}] = {f.name}")
        else:
            env[f"_s_{f.name}"] = slot.__set__
            body.append(f"    _s_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(names)}):\n" + ("\n".join(body) if fields else "    pass") + "\n"
    exec(source, env)  # (as dataclasses itself writes __init__)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[misc]
    return cls


def _slot(cls: type, name: str):
    """The slot descriptor of field `name` (None: it lives in the instance dict)."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            return found if type(found).__name__ == "member_descriptor" else None
    return None
