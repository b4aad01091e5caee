"""Read-only traversals that do not rebuild the tree.

libcst's ``CSTNode.visit`` walks a node's children through ``_visit_and_replace_children``, which
constructs (and validates) a new copy of every node it passes, even for a read-only ``CSTVisitor``
that never replaces anything. One lint of a file walks the whole tree about five times that way:
the expression-context and scope analyses, the batched metadata pass, the parent map and the rules'
batched traversal. Inside :func:`recorded`, the first walk through a node records the events
libcst's own method emits for it (each child's ``visit``, and the ``on_visit_attribute`` /
``on_leave_attribute`` calls around each field) and every later read-only walk replays them: the
same callbacks in the same order, without the copies. Transformers (the fix engine) always take
libcst's own path.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import typing
from typing import Any, Iterator, Union

import libcst as cst
from libcst._batched_visitor import _BatchedCSTVisitor
from libcst._typed_visitor import CSTTypedVisitorFunctions
from libcst.metadata import scope_provider as _scope_provider
from libcst.metadata.base_provider import BaseMetadataProvider as _BaseMetadataProvider

#: id(node) -> (node, its children, its events): the events are the children and "+field" /
#: "-field" for the attribute hooks. The node is kept so that its id cannot be reused by another
#: node while the cache lives.
_Events = tuple[Union[cst.CSTNode, str], ...]
_Entry = tuple[cst.CSTNode, tuple[cst.CSTNode, ...], _Events]
_cache: dict[int, _Entry] | None = None
_libcst_visit = cst.CSTNode.visit
#: visitor class -> the node type names it has ``visit_<Type>_<field>`` / ``leave_...`` hooks for
_ATTRIBUTE_HOOKS: dict[type, frozenset[str]] = {}


#: the "+field" / "-field" event strings, one object per field name (a tree has millions of events)
_ENTER: dict[str, str] = {}
_LEAVE: dict[str, str] = {}


class _Recorder(cst.CSTVisitor):
    """Collects the events of one ``_visit_and_replace_children`` call without descending."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[cst.CSTNode | str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(node)
        return False

    def on_leave(self, original_node: cst.CSTNode) -> None:
        pass

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.events.append(_ENTER.get(attribute) or _ENTER.setdefault(attribute, "+" + attribute))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.events.append(_LEAVE.get(attribute) or _LEAVE.setdefault(attribute, "-" + attribute))


#: (node class, which of its fields are None) -> the fields libcst's ``_visit_and_replace_children``
#: visits, in its order, learned from the first such node (None: events the fields do not give).
#: Some classes visit a field only when it is set (``FormattedStringExpression.format_spec``):
#: hence the key.
_FIELDS: dict[tuple[type, int], tuple[str, ...] | None] = {}
#: node class -> its dataclass field names
_ALL_FIELDS: dict[type, tuple[str, ...]] = {}
_NODE = cst.CSTNode
#: check every fast record against libcst's own (tests; ``ASYNCLINT_CHECK_TRAVERSAL=1``)
VERIFY = bool(os.environ.get("ASYNCLINT_CHECK_TRAVERSAL"))


def _slow_events(node: cst.CSTNode) -> tuple[cst.CSTNode | str, ...]:
    """The events libcst's own walk emits for ``node`` (it builds a copy of the node to get them)."""
    recorder = _Recorder()
    node._visit_and_replace_children(recorder)
    return tuple(recorder.events)


#: class -> whether it is a CSTNode: ``isinstance`` against libcst's abstract base classes goes
#: through ``ABCMeta.__instancecheck__``, several times slower than a dict lookup on every field
_IS_NODE: dict[type, bool] = {}


def _is_node(cls: type) -> bool:
    found = _IS_NODE.get(cls)
    if found is None:
        found = _IS_NODE[cls] = issubclass(cls, _NODE)
    return found


def _fast_events(node: cst.CSTNode, fields: tuple[str, ...]) -> tuple[cst.CSTNode | str, ...]:
    """The same events, read from the node's fields: no copy."""
    events: list[cst.CSTNode | str] = []
    append = events.append
    is_node = _IS_NODE.get
    for name in fields:
        append(_ENTER[name])
        value = getattr(node, name)
        cls = value.__class__
        if is_node(cls) or (cls not in _IS_NODE and _is_node(cls)):
            append(value)
        elif cls is tuple or cls is list:
            for item in value:
                cls = item.__class__
                if is_node(cls) or (cls not in _IS_NODE and _is_node(cls)):
                    append(item)
        append(_LEAVE[name])
    return tuple(events)


def _learn(node: cst.CSTNode, events: tuple[cst.CSTNode | str, ...]) -> tuple[str, ...] | None:
    """The field order ``events`` show, if reading those fields gives exactly ``events``."""
    fields = tuple(e[1:] for e in events if isinstance(e, str) and e[0] == "+")
    try:
        return fields if _fast_events(node, fields) == events else None
    except (AttributeError, KeyError):
        return None


def _nullable(field: dataclasses.Field) -> bool:
    """The field may hold None: its annotation is ``Optional[...]`` (or not a type this can read),
    or its default is None. The others never do in a tree libcst parsed."""
    if field.default is None:
        return True
    annotation = field.type
    if isinstance(annotation, str) or annotation is None or annotation is type(None):
        return True
    return type(None) in typing.get_args(annotation)


def _shape(node: cst.CSTNode) -> tuple[type, int]:
    cls = node.__class__
    names = _ALL_FIELDS.get(cls)
    if names is None:
        # only the fields that may be None tell shapes apart
        names = _ALL_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if _nullable(f))
    mask = 0
    for i, name in enumerate(names):
        if getattr(node, name) is None:
            mask |= 1 << i
    return cls, mask


def _record(node: cst.CSTNode) -> _Entry:
    cache = _cache
    entry = cache.get(id(node)) if cache is not None else None
    if entry is None:
        shape = _shape(node)
        fields = _FIELDS.get(shape, False)
        if fields.__class__ is tuple:
            # () for a leaf (whitespace, comments, newlines: a third of all nodes): no events
            events = _fast_events(node, fields) if fields else ()
            if VERIFY:
                assert events == _slow_events(node), f"{shape[0].__name__}: fields {fields} do not give libcst's events"
        else:
            events = _slow_events(node)
            if fields is False:
                _FIELDS[shape] = _learn(node, events)
        kids: tuple[cst.CSTNode, ...] = tuple(e for e in events if e.__class__ is not str) if events else ()  # type: ignore[misc]
        entry = (node, kids, events)
        if cache is not None:
            cache[id(node)] = entry
    return entry


def recorded_children() -> dict[int, _Entry]:
    """The record of the enclosing :func:`recorded` block (id(node) -> (node, children, events));
    empty outside one. Read-only: for loops that would call :func:`children` on every node."""
    return _cache if _cache is not None else {}


def children(node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
    """``node.children`` (recorded once inside :func:`recorded`)."""
    return _record(node)[1]


def _hooked_types(visitor: cst.CSTVisitor) -> frozenset[str] | None:
    """The node type names ``visitor`` has attribute hooks for; None: it may have any."""
    cls = type(visitor)
    dir_names: list[str] = []
    if cls.on_visit_attribute is _BATCHED_ON_VISIT_ATTRIBUTE:
        names: Any = getattr(visitor, "visitor_methods", {})
    elif cls.on_visit_attribute is cst.CSTVisitor.on_visit_attribute and cls.on_leave_attribute is cst.CSTVisitor.on_leave_attribute:
        found = _ATTRIBUTE_HOOKS.get(cls)
        if found is not None:
            return found
        names = dir_names = dir(cls)
    else:
        return None
    types = frozenset(
        parts[1]
        for name in names
        if len(parts := name.split("_", 2)) == 3 and parts[0] in ("visit", "leave") and (names is not dir_names or _defined(cls, name))
    )
    if cls.on_visit_attribute is not _BATCHED_ON_VISIT_ATTRIBUTE:
        _ATTRIBUTE_HOOKS[cls] = types
    return types


#: (visitor class, node class) -> the names of its ``visit_<Type>`` and ``leave_<Type>`` methods
#: (None: it has none), for visitors that keep CSTVisitor's own dispatch
_METHODS: dict[tuple[type, type], tuple[str | None, str | None]] = {}
_ON_VISIT = cst.CSTVisitor.on_visit
_ON_LEAVE = cst.CSTVisitor.on_leave


def _defined(cls: type, name: str) -> bool:
    """``cls`` has a method ``name`` of its own: not the do-nothing one every CSTVisitor inherits
    from libcst's typed visitor functions."""
    method = getattr(cls, name, None)
    return method is not None and method is not getattr(CSTTypedVisitorFunctions, name, None)


def _methods(cls: type, node_cls: type) -> tuple[str | None, str | None]:
    found = _METHODS.get((cls, node_cls))
    if found is None:
        visit, leave = f"visit_{node_cls.__name__}", f"leave_{node_cls.__name__}"
        found = (visit if _defined(cls, visit) else None, leave if _defined(cls, leave) else None)
        _METHODS[(cls, node_cls)] = found
    return found


_ScopeVisitor = _scope_provider.ScopeVisitor
#: node class -> whether libcst's ScopeVisitor counts it as an assignment-like node
_ASSIGNMENT_LIKE: dict[type, bool] = {}


def _scope_visitor_as_read() -> bool:
    """libcst's ScopeVisitor is the one :func:`_visit` inlines (kind 4): CSTVisitor's own
    ``on_visit``, and an ``on_leave`` that sets the node's scope, counts assignment-like nodes and
    calls CSTVisitor's. Another libcst version that changes either is walked through its own
    methods (kind 2)."""
    leave = getattr(_ScopeVisitor, "on_leave", None)
    code = getattr(leave, "__code__", None)
    return (
        _ScopeVisitor.on_visit is _ON_VISIT
        and code is not None
        and set(code.co_names) == {"provider", "set_metadata", "scope", "isinstance", "_ASSIGNMENT_LIKE_NODES", "_assignment_count", "super", "on_leave"}
        and _scope_provider.ScopeProvider.set_metadata is _BaseMetadataProvider.set_metadata
        and _BaseMetadataProvider.set_metadata.__code__.co_names == ("_computed",)
        and isinstance(getattr(_scope_provider, "_ASSIGNMENT_LIKE_NODES", None), tuple)
    )


_SCOPE_VISITOR_AS_READ = _scope_visitor_as_read()

#: visitor class -> how it is walked: 0 libcst's own way (transformers, the recorder), 1 CSTVisitor's
#: dispatch looked up once per node class, 2 through its own on_visit/on_leave, 3 libcst's batched
#: visitor, 4 libcst's ScopeVisitor with its ``on_leave`` inlined
_KIND: dict[type, int] = {}


def _kind(cls: type) -> int:
    kind = _KIND.get(cls)
    if kind is None:
        if not issubclass(cls, cst.CSTVisitor) or issubclass(cls, _Recorder):
            kind = 0
        elif cls.on_visit is _ON_VISIT and cls.on_leave is _ON_LEAVE:
            kind = 1
        elif cls is _BatchedCSTVisitor:
            kind = 3
        elif cls is _ScopeVisitor and _SCOPE_VISITOR_AS_READ:
            kind = 4
        else:
            kind = 2
        _KIND[cls] = kind
    return kind


class _Batch:
    """A batched visitor's methods per node class, and whether anything below the module runs."""

    __slots__ = ("by_class", "visitor_methods", "inert")

    def __init__(self, visitor: Any) -> None:
        self.visitor_methods = visitor.visitor_methods
        self.by_class: dict[type, tuple[list[Any], list[Any]]] = {}
        # libcst's metadata pass: providers that only have ``visit_Module`` (scopes, expression
        # contexts) are batched into a walk of the whole tree that calls nothing below the root
        self.inert = (
            visitor.before_visit is None
            and visitor.after_leave is None
            and all(name.split("_", 2)[1:] == ["Module"] for name in self.visitor_methods)
        )

    def methods(self, node_cls: type) -> tuple[list[Any], list[Any]]:
        found = self.by_class.get(node_cls)
        if found is None:
            name = node_cls.__name__
            found = (self.visitor_methods.get(f"visit_{name}", []), self.visitor_methods.get(f"leave_{name}", []))
            self.by_class[node_cls] = found
        return found


def _visit(self: cst.CSTNode, visitor: Any) -> Any:
    cls = visitor.__class__
    kind = _KIND.get(cls)
    if kind is None:
        kind = _kind(cls)
    if _cache is None or kind == 0:
        return _libcst_visit(self, visitor)
    if kind == 1:
        # CSTVisitor's dispatch, with the method names looked up once per class (a visitor has no
        # method for most node types, and each failed getattr costs an exception)
        visit_name, leave_name = _METHODS.get((cls, self.__class__)) or _methods(cls, self.__class__)
        if visit_name is None or getattr(visitor, visit_name)(self) is not False:
            _children(self, visitor)
        if leave_name is not None:
            getattr(visitor, leave_name)(self)
        return self
    if kind == 3:
        batch = visitor.__dict__.get("_asynclint_batch")
        if batch is None:
            batch = visitor.__dict__["_asynclint_batch"] = _Batch(visitor)
        visits, leaves = batch.methods(self.__class__)
        before, after = visitor.before_visit, visitor.after_leave
        if before is not None:
            before(self)
        for method in visits:
            method(self)
        if not batch.inert:
            _children(self, visitor)
        for method in leaves:
            method(self)
        if after is not None:
            after(self)
        return self
    if kind == 4:
        # libcst's ScopeVisitor: CSTVisitor's dispatch, then its own on_leave (the node's scope
        # recorded, the scope's count of assignment-like nodes kept) inlined, with the isinstance
        # against its tuple of node classes answered once per class
        visit_name, leave_name = _METHODS.get((cls, self.__class__)) or _methods(cls, self.__class__)
        if visit_name is None or getattr(visitor, visit_name)(self) is not False:
            _children(self, visitor)
        scope = visitor.scope
        visitor.provider._computed[self] = scope
        node_cls = self.__class__
        counted = _ASSIGNMENT_LIKE.get(node_cls)
        if counted is None:
            counted = _ASSIGNMENT_LIKE[node_cls] = issubclass(node_cls, _scope_provider._ASSIGNMENT_LIKE_NODES)
        if counted:
            scope._assignment_count += 1
        if leave_name is not None:
            getattr(visitor, leave_name)(self)
        return self
    if visitor.on_visit(self):
        _children(self, visitor)
    visitor.on_leave(self)
    return self


def _children(self: cst.CSTNode, visitor: Any) -> None:
    """Visit the children of ``self`` (and the attribute hooks around them, where ``visitor`` has any)."""
    hooked = visitor.__dict__.get("_asynclint_hooked", False)
    if hooked is False:
        hooked = visitor.__dict__["_asynclint_hooked"] = _hooked_types(visitor)
    entry = _cache.get(id(self)) if _cache is not None else None
    if entry is None:
        entry = _record(self)
    if hooked is None or self.__class__.__name__ in hooked:
        for event in entry[2]:
            if event.__class__ is str:
                if event[0] == "+":
                    visitor.on_visit_attribute(self, event[1:])
                else:
                    visitor.on_leave_attribute(self, event[1:])
            else:
                event.visit(visitor)  # type: ignore[union-attr]
    else:
        # no attribute hook for this type: only the children's own visits matter
        for child in entry[1]:
            child.visit(visitor)


_BATCHED_ON_VISIT_ATTRIBUTE = _BatchedCSTVisitor.on_visit_attribute
cst.CSTNode.visit = _visit  # type: ignore[method-assign]


@contextlib.contextmanager
def recorded() -> Iterator[None]:
    """Read-only walks inside the block replay recorded events instead of rebuilding nodes; the
    record is dropped at the end (nested blocks share the outer one)."""
    global _cache
    if _cache is not None:
        yield
        return
    _cache = {}
    try:
        yield
    finally:
        _cache = None
