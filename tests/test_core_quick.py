"""router/core/quick.py: the events, commands and facts keep every
dataclass behaviour with the faster `__init__` (frozen, defaults, keyword
and positional arguments, equality, hashing, replace, pickling)."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass

import pytest

from router.core import commands as cmd
from router.core import events as ev
from router.core import facts as f
from router.core.quick import quick


@quick
@dataclass(frozen=True, slots=True)
class Slotted:
    a: str
    b: int = 2


@quick
@dataclass(frozen=True)
class Plain:
    a: str
    b: tuple = ()


@pytest.mark.parametrize("cls", [Slotted, Plain])
def test_a_quick_dataclass_is_the_dataclass_it_was(cls):
    x = cls("x")
    assert x == cls(a="x") == cls("x", cls("y").b)
    assert hash(x) == hash(cls("x"))
    assert dataclasses.replace(x, a="z") == cls("z")
    assert pickle.loads(pickle.dumps(x)) == x
    with pytest.raises(dataclasses.FrozenInstanceError):
        x.a = "no"
    with pytest.raises(TypeError):
        cls()  # a required field is still required
    with pytest.raises(TypeError):
        cls("x", 1, 2)


def test_the_core_types_keep_their_fields_and_defaults():
    w = ev.CallWaiting("c1", dnis="4008", caller_name="王五")
    assert (w.call_id, w.dnis, w.caller_num, w.caller_name, w.variables, w.waited) == (
        "c1", "4008", "", "王五", (), 0.0)
    assert ev.AgentPause("a1") == ev.AgentPause(agent_id="a1")
    t = cmd.StartTimer("ring", "c1", 12.0)
    assert dataclasses.astuple(t) == ("ring", "c1", 12.0)
    s = f.AgentStateChanged("a1", "available", "", None, None)
    assert s.data["agent"] == "a1" and s.call is None
    assert type(s).__init__.__qualname__ == "AgentStateChanged.__init__"


def test_quick_refuses_what_it_cannot_keep():
    with pytest.raises(TypeError):
        @quick
        @dataclass
        class NotFrozen:
            a: int

    with pytest.raises(TypeError):
        @quick
        @dataclass(frozen=True)
        class Factory:
            a: list = dataclasses.field(default_factory=list)
