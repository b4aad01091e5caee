"""The replayed walks (asynclint.traversal) give every visitor the events libcst's own walk gives.

Inside a lint, a node's children and attribute events are read from its fields in the order
libcst visits them, learned per node class from the first node of the class (libcst's own walk
builds a copy of every node it passes to get them). These tests check, for every node of every
fixture and example file, that reading the fields gives exactly libcst's events, and that a
visitor sees the same sequence of calls both ways."""
from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from asynclint import traversal

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted({*(ROOT / "tests" / "fixtures").rglob("*.py"), *(ROOT / "examples").rglob("*.py"), *(ROOT / "src").rglob("*.py")})


def _modules() -> list[tuple[Path, cst.Module]]:
    out = []
    for path in FILES:
        try:
            out.append((path, cst.parse_module(path.read_bytes())))
        except cst.ParserSyntaxError:
            continue  # the bad-input fixtures
    return out


def test_fields_give_libcsts_events_for_every_node() -> None:
    checked = fast = 0
    for _path, module in _modules():
        todo: list[cst.CSTNode] = [module]
        while todo:
            node = todo.pop()
            slow = traversal._slow_events(node)
            shape = traversal._shape(node)
            if shape not in traversal._FIELDS:
                traversal._FIELDS[shape] = traversal._learn(node, slow)
            fields = traversal._FIELDS[shape]
            if fields is not None:
                assert traversal._fast_events(node, fields) == slow, shape[0].__name__
                fast += 1
            checked += 1
            todo.extend(e for e in slow if not isinstance(e, str))
    assert checked > 100_000
    assert fast == checked, f"{checked - fast} nodes of classes read libcst's way"


class _Log(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.calls.append(("visit", type(node).__name__, ""))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.calls.append(("leave", type(original_node).__name__, ""))

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.calls.append(("+", type(node).__name__, attribute))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.calls.append(("-", type(original_node).__name__, attribute))


@pytest.mark.parametrize("name", ["ASL290.py", "ASL302.py", "ASL230.py"])
def test_a_visitor_sees_the_same_calls_both_ways(name: str) -> None:
    module = cst.parse_module((ROOT / "tests" / "fixtures" / name).read_bytes())
    theirs = _Log()
    module.visit(theirs)
    ours = _Log()
    with traversal.recorded():
        module.visit(ours)  # records
        again = _Log()
        module.visit(again)  # replays
    assert ours.calls == theirs.calls == again.calls
