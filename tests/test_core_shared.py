"""The engine's shared state is declared (router/core/shared.py): every
`self.` name a part of the engine uses can be followed to a declaration.

- Each part (a class deriving EngineState) uses on `self` only declared
  state, its own methods, EngineState's own, or a declared seam.
- Each seam is implemented by the module it is declared under, with the
  same parameters.
- The declaration is enforced: the engine has no `__dict__`, so an
  undeclared attribute cannot be set.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from router.core import events as ev
from router.core.engine import Engine
from router.core.shared import EngineState
from support.tables import agent, queue, req, step, table

CORE = Path(__file__).resolve().parent.parent / "router" / "core"


def seams() -> dict[str, tuple[str, list[str]]]:
    """name -> (module, parameter names), from shared.py's TYPE_CHECKING block."""
    out, module = {}, None
    text = (CORE / "shared.py").read_text(encoding="utf-8")
    block = text[text.index("    if TYPE_CHECKING:"):]
    for line in block.splitlines():
        if m := re.match(r"\s+# (\w+)\.py$", line):
            module = m.group(1)
        elif line.strip().startswith("def "):
            fn = ast.parse(line.strip()).body[0]
            out[fn.name] = (module, [a.arg for a in fn.args.args])
    return out


def parts() -> list[tuple[str, ast.ClassDef]]:
    """(module, class) of every EngineState subclass in router/core (Engine too)."""
    found = []
    for path in sorted(CORE.glob("*.py")):
        module = importlib.import_module(f"router.core.{path.stem}")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            cls = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else None
            if cls is not None and cls is not EngineState and issubclass(cls, EngineState):
                found.append((path.stem, node))
    return found


def own_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            names.add(item.name)
        elif isinstance(item, ast.Assign):
            names.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return names


def test_the_parts_are_the_engine_s_bases():
    modules = {module for module, _ in parts()}
    assert modules == {"agents", "callbacks", "calls", "dispatch", "enforce", "engine", "lifecycle", "resync",
                       "supervisor", "survey"}
    assert all(issubclass(base, EngineState) for base in Engine.__mro__[:-2])


@pytest.mark.parametrize("module,node", parts(), ids=lambda x: x if isinstance(x, str) else x.name)
def test_every_self_name_of_a_part_is_declared(module, node):
    declared = set(EngineState.__slots__) | own_names(node) | set(vars(EngineState)) | set(seams())
    used = {n.attr for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"}
    assert used - declared == set(), f"{node.name} ({module}.py) uses undeclared self. names"


def test_each_seam_is_implemented_where_declared_with_its_parameters():
    implemented = {item.name: (module, [a.arg for a in item.args.args])
                   for module, node in parts() for item in node.body if isinstance(item, ast.FunctionDef)}
    for name, declared in seams().items():
        assert implemented.get(name) == declared, name
        assert list(inspect.signature(getattr(Engine, name)).parameters) == declared[1], name


def test_undeclared_state_cannot_be_set():
    engine = Engine(table([agent("a1", sales=1)], [queue("sales", step(0, req(sales=1)))]))
    assert not hasattr(engine, "__dict__")
    with pytest.raises(AttributeError):
        engine.undeclared = 1
    engine.handle(ev.AgentLogin("a1"), 0.0)  # (and the declared ones are all set up)
    assert [slot for slot in EngineState.__slots__ if not hasattr(engine, slot)] == []
