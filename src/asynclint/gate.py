"""The gate: one cheap pass over CPython's ``ast`` tree that decides which rules can fire in a file.

The byte prefilter (each rule's ``markers``) looks at raw text: every file with an ``async def``
passes it for the coroutine rules, every module that mentions ``Executor`` or ``flask`` for the
thread rules. libcst's parse, its scope analysis and the rules' traversal cost about 100 times
more than CPython's parse, and on real trees only one file in ten that passes the prefilter has a
finding. The gate looks at the tree CPython already built (the engine parses every admitted file
with ``compile`` to bound its depth) and keeps a rule only when the shape it reports is present:

- ``no-await`` (ASL100): an ``async def`` whose own body has no ``await``, ``async for``,
  ``async with``, async comprehension or ``yield``, and that is a handler (a route, hook, Azure
  Functions or Django decorator, a module-level ``main``) or private/nested and awaited by name;
- ``coroutine-calls`` (ASL2xx): a call in a coroutine body, not awaited, whose name (the last part
  of ``a.b.name(...)``, or the imported name behind an alias) is a blocking function or a blocking
  method of an object the tables know, of a module or builtin the file names; for ASL250 also a
  ``with`` block or an ``acquire()`` in a coroutine body;
- ``loop-run`` (ASL103): a call of ``run``/``run_until_complete``/``run_forever`` in a coroutine body;
- ``unawaited`` (ASL101): a call whose result is thrown away (or used as an ``async with`` item)
  named like an ``async def`` of the file (called by name or on a name: ``f()``, ``self.f()``) or
  like a library coroutine of a library the file names;
- ``threads-write`` / ``threads-handle`` / ``threads-state`` (ASL300/301/302): a possible threaded
  entry point (a call of a thread, executor or framework registration function, a class with a base
  named like a threaded handler, a sync function with a route-like decorator, a module of Azure
  Functions or Django, or configured entry points) together with, in turn, a call in a function that
  may write a file, a file opened at import time, or a write of module-level state.

Every test is a necessary condition of the rule's own analysis, computed from names alone (which
only over-approximates what libcst's scope analysis resolves): the gate may admit a file where
nothing is found, never skip one where something is. ``tests/test_gate.py`` runs every fixture both
ways and requires the same findings; ``benchmarks/realworld.py gatecheck`` does the same for the
real-world corpus and the standard library.
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence, TypeVar

if TYPE_CHECKING:
    from asynclint.config import Config

#: a rule class or its spec (asynclint.specs.Spec)
R = TypeVar("R")

#: the gates rules name (``Rule.gate``); a rule without one is admitted by its byte markers alone
GATES = (
    "no-await", "coroutine-calls", "loop-run", "unawaited", "helper-calls", "threads-write", "threads-handle", "threads-state",
)

_LOOP_RUNS = frozenset({"run", "run_until_complete", "run_forever"})
#: calls that open a file for writing, or write it (``Path.write_text``)
_FILE_WRITES = frozenset({"open", "write_text", "write_bytes"})
#: the last part of every call that can register or start a threaded entry point
_ENTRY_CALLS = frozenset(
    {
        "Thread", "Timer", "start_new_thread", "start_new", "to_thread", "run_sync", "run_in_threadpool",
        "run_in_executor", "Depends", "Security", "path", "re_path", "url", "Route", "APIRoute", "add_task",
        "add_url_rule", "add_api_route",
    }
)
#: frameworks whose modules make any decorator, any module-level ``main`` or any view an entry point
_FRAMEWORK_ROOTS = frozenset({"azure", "django", "rest_framework"})


_Tables = tuple[dict[str, frozenset[str]], dict[str, frozenset[str]], frozenset[str], dict[str, frozenset[str]], frozenset[str]]
#: the tables below, generated from the rules' own tables (which import libcst) by
#: ``python -m asynclint.gate``; a test fails when the file is stale
TABLES_FILE = "gate_tables.json"


@functools.lru_cache(maxsize=None)
def _data() -> dict[str, Any]:
    """``data/gate_tables.json``, read once per process."""
    import json
    from importlib import resources

    return json.loads(resources.files("asynclint").joinpath("data").joinpath(TABLES_FILE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def _tables() -> _Tables:
    """The gate's tables, read from ``data/gate_tables.json`` (see :func:`compute_tables`)."""
    data = _data()
    return (
        {k: frozenset(v) for k, v in data["calls"].items()},
        {k: frozenset(v) for k, v in data["methods"].items()},
        frozenset(data["wildcard"]),
        {k: frozenset(v) for k, v in data["coroutines"].items()},
        frozenset(data["entries"]),
    )


def tables_json() -> str:
    """``data/gate_tables.json`` as :func:`compute_tables` computes it now."""
    import json

    calls, methods, wildcard, coroutines, entries = compute_tables()
    data = {
        "generated_by": "python -m asynclint.gate",
        "calls": {k: sorted(v) for k, v in sorted(calls.items())},
        "methods": {k: sorted(v) for k, v in sorted(methods.items())},
        "wildcard": sorted(wildcard),
        "coroutines": {k: sorted(v) for k, v in sorted(coroutines.items())},
        "entries": sorted(entries),
        "blocking": compute_blocking(),
    }
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def compute_tables() -> _Tables:
    """From the blocking and entry-point tables: root -> last names of its blocking functions;
    root -> blocking method names of objects its constructors build; the roots with SDK clients
    whose every public method blocks; root -> last names of its library coroutines; the last names
    of entry-point calls, threaded handler bases and (``@name``) registration decorators."""
    from asynclint.semantics import LIBRARY_COROUTINES
    from asynclint.semantics.blocking import CALLS, METHODS
    from asynclint.semantics.frameworks import (
        AZURE_DECORATORS,
        DJANGO_VIEW_DECORATORS,
        FASTAPI_VERBS,
        FLASK_HOOKS,
        FLASK_VERBS,
    )
    from asynclint.semantics.thread_common import CLASS_HANDLERS, EXECUTOR_METHODS

    calls: dict[str, set[str]] = {}
    for name in CALLS:
        root, last = _root_and_last(name)
        calls.setdefault(root, set()).add(last)
    methods: dict[str, set[str]] = {}
    wildcard: set[str] = set()
    for name, spec in METHODS.items():
        root, _ = _root_and_last(name)
        methods.setdefault(root, set()).update(spec.methods, (m for m, _ in spec.special))
        if spec.any_method:
            wildcard.add(root)
    coroutines: dict[str, set[str]] = {}
    for name in LIBRARY_COROUTINES:
        root, last = _root_and_last(name)
        coroutines.setdefault(root, set()).add(last)
    entries = frozenset(
        {*_ENTRY_CALLS, *EXECUTOR_METHODS, *(name.rsplit(".", 1)[-1] for name in CLASS_HANDLERS)}
    )
    decorators = frozenset(
        {*FASTAPI_VERBS, *FLASK_VERBS, *FLASK_HOOKS, *AZURE_DECORATORS, "websocket_route",
         *(name.rsplit(".", 1)[-1] for name in DJANGO_VIEW_DECORATORS)}
    )
    return (
        {k: frozenset(v) for k, v in calls.items()},
        {k: frozenset(v) for k, v in methods.items()},
        frozenset(wildcard),
        {k: frozenset(v) for k, v in coroutines.items()},
        entries | {f"@{d}" for d in decorators},
    )


def compute_blocking() -> dict[str, Any]:
    """The ASL2xx tables by qualified name, for ASL290's summaries (asynclint.callgraph): the
    blocking functions (name -> code) and, per constructor, its objects' blocking methods (with
    ``any``: every public method but those matching ``local``). A lock's ``acquire`` (taking it is
    brief; ASL250 reports it only when held across an ``await``) is left out."""
    from asynclint.semantics.blocking import CALLS, METHODS

    return {
        "calls": {name: CALLS[name].code for name in sorted(CALLS) if not CALLS[name].held},
        "methods": {
            ctor: {
                "code": spec.blocking.code,
                "methods": sorted(spec.methods),
                "any": spec.any_method,
                "local": spec.local.pattern if spec.local is not None else None,
            }
            for ctor, spec in sorted(METHODS.items())
            if not spec.blocking.held
        },
    }


def blocking_tables() -> dict[str, Any]:
    """:func:`compute_blocking`, read from ``data/gate_tables.json`` (no libcst)."""
    return _data()["blocking"]


def _root_and_last(name: str) -> tuple[str, str]:
    """``("builtins.open")`` -> ("open", "open"); ``"sqlite3.connect().cursor"`` -> ("sqlite3", "cursor")."""
    parts = name.replace("()", "").replace("[]", "").split(".")
    root = parts[1] if parts[0] == "builtins" and len(parts) > 1 else parts[0]
    return root, parts[-1]


@dataclass
class Facts:
    """What the gate needs from one file, collected in one walk of its ``ast`` tree."""

    #: top-level names of absolute imports, and every name the file reads or binds
    roots: set[str] = field(default_factory=set)
    #: alias -> the imported name's last part (``from time import sleep as nap``: nap -> sleep)
    aliases: dict[str, str] = field(default_factory=dict)
    async_names: set[str] = field(default_factory=set)
    #: names of ``async def``s directly in a class body, and of the other ``async def``s
    async_methods: set[str] = field(default_factory=set)
    async_functions: set[str] = field(default_factory=set)
    #: the first positional parameter of each function directly in a class body (``self``, ``cls``)
    method_receivers: set[str] = field(default_factory=set)
    #: ``async def``s whose own body never suspends: (name, decorated, private or nested)
    never_suspend: list[tuple[str, frozenset[str], bool]] = field(default_factory=list)
    #: last names of awaited calls
    awaited: set[str] = field(default_factory=set)
    #: last names of calls in coroutine bodies that are not awaited; whether one is a public method
    coroutine_calls: set[str] = field(default_factory=set)
    coroutine_method_call: bool = False
    coroutine_with: bool = False
    #: last names of calls whose result is thrown away (or that are ``async with`` items)
    discarded: set[str] = field(default_factory=set)
    #: the same, for calls of a name or of a name's attribute (``save()``, ``self.save()``,
    #: ``Client.save()``): the forms a coroutine function of the module is proven through
    discarded_own: set[str] = field(default_factory=set)
    #: of those, the calls of a name (``save()``) outside class bodies, the calls of a name in a
    #: class body, and (receiver, attribute) of the calls of a name's attribute (``self.save()``)
    discarded_names: set[str] = field(default_factory=set)
    discarded_in_class: set[str] = field(default_factory=set)
    discarded_attrs: set[tuple[str, str]] = field(default_factory=set)
    #: last names of every call, of class bases, and ``@name`` of sync functions' decorators
    entry_names: set[str] = field(default_factory=set)
    #: last names of calls in sync function bodies
    sync_calls: set[str] = field(default_factory=set)
    #: names bound at module level (or declared ``global``); class names; names of classes
    #: called at module level
    module_names: set[str] = field(default_factory=set)
    class_names: set[str] = field(default_factory=set)
    module_calls: set[str] = field(default_factory=set)
    #: root names of subscript and attribute targets assigned in sync function bodies
    state_roots: set[str] = field(default_factory=set)
    #: a ``global`` statement in a sync function
    sync_global: bool = False
    #: a sync function opens a file in a mode that may write, or writes one (``Path.write_text``)
    file_write: bool = False
    #: code CPython's parser accepts and its compiler rejects (``nonlocal`` or ``return`` outside a
    #: function): the rules run as without the gate, so that the file gets the same ASL001
    invalid: bool = False


def _last(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return None


def _may_write(call: ast.Call, name: str) -> bool:
    """``open(p, "w")``, ``path.open("a")``, ``open(p, mode)``: a call that may open a file for
    writing (a literal mode without ``w``, ``a``, ``x`` or ``+``, or none, only reads)."""
    if name != "open":
        return True  # write_text, write_bytes
    # ``open(file, mode)`` / ``io.open`` / ``codecs.open``: the second argument; ``Path.open(mode)``: the first
    modes = [k.value for k in call.keywords if k.arg == "mode" or k.arg is None]
    modes += call.args[1:2] if isinstance(call.func, ast.Name) else call.args[:2]
    if any(isinstance(a, ast.Starred) for a in call.args):
        return True
    for mode in modes:
        if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
            return True  # a mode that is not a literal (or ``io.open(path)``: the file, taken as one)
        if set(mode.value) & set("wax+"):
            return True
    return False


def _discard(facts: Facts, call: ast.Call, in_class: bool) -> None:
    """Record a call whose result is thrown away (or used as an ``async with`` item)."""
    name = _last(call)
    if name is None:
        return
    facts.discarded.add(name)
    func = call.func
    if isinstance(func, ast.Name):
        facts.discarded_own.add(name)
        (facts.discarded_in_class if in_class else facts.discarded_names).add(name)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        facts.discarded_own.add(name)
        facts.discarded_attrs.add((func.value.id, name))


def _target_root(target: ast.expr) -> str | None:
    """``X`` for ``X[k].y``: the name a subscript or attribute target writes through."""
    if not isinstance(target, (ast.Subscript, ast.Attribute)):
        return None
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


#: where a node is: module level, a sync function's body, a coroutine body, a class body, a lambda
_MODULE, _SYNC, _ASYNC, _CLASS, _LAMBDA = range(5)


def facts_of(tree: ast.Module) -> Facts:
    """One iterative walk (deep trees must not recurse) collecting :class:`Facts`."""
    facts = Facts()
    roots, aliases = facts.roots, facts.aliases
    suspends: list[tuple[ast.AsyncFunctionDef, bool, list[bool]]] = []
    # (node, where, suspension flag of the enclosing coroutine body or None, inside a generator
    # expression (its body runs later), inside a function)
    stack: list[tuple[ast.AST, int, list[bool] | None, bool, bool]] = [(tree, _MODULE, None, False, False)]
    while stack:
        node, where, flag, lazy, in_func = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            is_async = isinstance(node, ast.AsyncFunctionDef)
            roots.add(node.name)
            if where == _MODULE:
                facts.module_names.add(node.name)
            outer: list[ast.AST] = [*node.decorator_list, node.args, *([node.returns] if node.returns else [])]
            stack.extend((child, where, flag, lazy, in_func) for child in outer)
            if where == _CLASS:
                positional = [*node.args.posonlyargs, *node.args.args]
                if positional:
                    facts.method_receivers.add(positional[0].arg)
            own: list[bool] | None = None
            if is_async:
                assert isinstance(node, ast.AsyncFunctionDef)
                facts.async_names.add(node.name)
                (facts.async_methods if where == _CLASS else facts.async_functions).add(node.name)
                own = [False]
                suspends.append((node, in_func, own))
            else:
                for decorator in node.decorator_list:
                    name = _last(decorator)
                    if name is not None:
                        facts.entry_names.add(f"@{name}")
            body = _ASYNC if is_async else _SYNC
            stack.extend((child, body, own, False, True) for child in node.body)
            continue
        if isinstance(node, ast.Lambda):
            stack.append((node.args, where, flag, lazy, in_func))
            stack.append((node.body, _LAMBDA, None, False, True))
            continue
        if isinstance(node, ast.ClassDef):
            roots.add(node.name)
            facts.class_names.add(node.name)
            if where == _MODULE:
                facts.module_names.add(node.name)
            for base in node.bases:
                name = _last(base)
                if name is not None:
                    facts.entry_names.add(name)
            stack.extend((child, where, flag, lazy, in_func) for child in (*node.decorator_list, *node.bases, *node.keywords))
            stack.extend((child, _CLASS, None, False, in_func) for child in node.body)
            continue
        if isinstance(node, ast.Name):
            roots.add(node.id)
            if where == _MODULE and isinstance(node.ctx, ast.Store):
                facts.module_names.add(node.id)
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and len(node.value) < 200:
                # a string annotation (``s: "requests.Session"``) names a module too
                head = node.value.strip().split(".", 1)[0]
                if head.isidentifier():
                    roots.add(head)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                roots.add(alias.name.split(".", 1)[0])
                if alias.asname:
                    roots.add(alias.asname)
                    aliases[alias.asname] = alias.name.rsplit(".", 1)[-1]
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                roots.add(node.module.split(".", 1)[0])
            for alias in node.names:
                roots.add(alias.asname or alias.name)
                if alias.asname:
                    aliases[alias.asname] = alias.name
            continue
        if not in_func and isinstance(node, (ast.Nonlocal, ast.Return, ast.Yield, ast.YieldFrom, ast.Await)):
            facts.invalid = True
        if isinstance(node, ast.Global):
            facts.module_names.update(node.names)
            if where == _SYNC:
                facts.sync_global = True
            continue
        if flag is not None and not lazy and (
            isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.AsyncFor, ast.AsyncWith))
            or (isinstance(node, ast.comprehension) and node.is_async)
        ):
            flag[0] = True
        if isinstance(node, ast.Call):
            name = _last(node)
            if name is not None:
                facts.entry_names.add(name)
                if where == _ASYNC:
                    facts.coroutine_calls.add(name)
                    if isinstance(node.func, ast.Attribute) and not name.startswith("_"):
                        facts.coroutine_method_call = True
                elif where == _SYNC:
                    facts.sync_calls.add(name)
                    if name in _FILE_WRITES and _may_write(node, name):
                        facts.file_write = True
                elif where == _MODULE:
                    facts.module_calls.add(name)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            _discard(facts, node.value, where == _CLASS)
        elif isinstance(node, ast.AsyncWith):
            for item in node.items:
                if isinstance(item.context_expr, ast.Call):
                    _discard(facts, item.context_expr, where == _CLASS)
        elif isinstance(node, ast.With) and where == _ASYNC:
            facts.coroutine_with = True
        elif isinstance(node, (ast.Assign, ast.AugAssign)) and where == _SYNC:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for sub in ast.walk(target) if isinstance(target, (ast.Tuple, ast.List, ast.Starred)) else [target]:
                    root = _target_root(sub) if isinstance(sub, ast.expr) else None
                    if root is not None:
                        facts.state_roots.add(root)
        elif isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            # the awaited call itself is never a blocking call: visit its parts only
            call = node.value
            name = _last(call)
            if name is not None:
                facts.entry_names.add(name)
                facts.awaited.add(name)
            stack.extend((child, where, flag, lazy, in_func) for child in (call.func, *call.args, *call.keywords))
            continue
        in_genexp = lazy or isinstance(node, ast.GeneratorExp)
        stack.extend((child, where, flag, in_genexp, in_func) for child in ast.iter_child_nodes(node))
    for func, nested, own in suspends:
        if not own[0]:
            private = func.name.startswith("_") and not func.name.endswith("__")
            decorators = frozenset(f"@{name}" for name in map(_last, func.decorator_list) if name is not None)
            if func.name == "main" and not nested:
                decorators |= {"@"}  # Azure Functions' v1 ``main`` is a handler without a decorator
            facts.never_suspend.append((func.name, decorators, private or nested))
    # aliases are only known once every import is seen: add the imported names
    for asname, original in aliases.items():
        for names in (facts.coroutine_calls, facts.discarded, facts.discarded_own, facts.sync_calls, facts.module_calls, facts.awaited):
            if asname in names:
                names.add(original)
        # ``from threading import Thread as T``, ``from flask.views import MethodView as MV``
        if asname in facts.entry_names:
            facts.entry_names.add(original)
        if f"@{asname}" in facts.entry_names:
            facts.entry_names.add(f"@{original}")
    return facts


class _Owner:
    """A function or class of the module (or the module itself), for :func:`_threaded_effects`."""

    __slots__ = (
        "name", "parent", "is_class", "names", "attrs", "own_attrs", "receiver", "bases", "children", "defs", "bindings", "local",
        "write", "state", "sync", "globals", "nonlocals",
    )

    def __init__(self, sync: bool, parent: _Owner | None = None, is_class: bool = False, name: str = "") -> None:
        self.name = name
        self.parent = parent
        self.is_class = is_class
        #: every name read or bound in its own body (``f``), nested bodies excluded
        self.names: set[str] = set()
        #: every attribute name in its own body (the ``m`` of ``x.m``): a method of any class
        self.attrs: set[str] = set()
        #: for a function directly in a class body: its first positional parameter (``self``,
        #: ``cls``), and the attribute names read on it (``self.m``): methods of its own class and
        #: of that class's bases, as the rules resolve them
        self.receiver: str | None = None
        self.own_attrs: set[str] = set()
        #: for a class: the last names of its bases
        self.bases: list[str] = []
        #: the functions and classes defined directly in its body (a class reaches its methods, a
        #: function the functions it defines)
        self.children: list[_Owner] = []
        #: name -> those of them with that name
        self.defs: dict[str, list[_Owner]] = {}
        #: name -> (names, attribute names) in the values it binds the name to (an assignment, a
        #: ``for``, a ``with ... as``)
        self.bindings: dict[str, tuple[set[str], set[str]]] = {}
        #: names certainly local to it (parameters, plain assignments, imports, its own defs): a
        #: read of one here never sees an outer binding
        self.local: set[str] = set()
        self.write = False
        self.state = False
        self.sync = sync
        #: names its ``global`` / ``nonlocal`` statements declare
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    def bind(self, name: str, names: set[str], attrs: set[str]) -> None:
        found = self.bindings.get(name)
        if found is None:
            self.bindings[name] = (set(names), set(attrs))
        else:
            found[0].update(names)
            found[1].update(attrs)


#: the calls the rules take for entry-point registrations (``asynclint.semantics.entrypoints``), by
#: last name: (position, keywords) of the argument that names the threaded target
_TARGET_ARGS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Thread": (1, ("target",)),
    "Timer": (1, ("function",)),
    **{name: (0, ("func", "function")) for name in ("to_thread", "run_sync", "run_in_threadpool", "start_new_thread", "start_new")},
    "Depends": (0, ("dependency",)),
    "Security": (0, ("dependency",)),
    **{name: (1, ("view",)) for name in ("path", "re_path", "url")},
    "Route": (1, ("endpoint",)),
    "APIRoute": (1, ("endpoint",)),
}
#: the same, for registrations that are always method calls (``pool.submit(f)``, ``app.add_url_rule``)
_METHOD_TARGET_ARGS: dict[str, tuple[int, tuple[str, ...]]] = {
    "run_in_executor": (1, ("func",)),
    **{name: (0, ("fn", "func")) for name in ("submit", "map", "apply", "apply_async", "map_async", "imap", "imap_unordered", "starmap", "starmap_async")},
    "add_task": (0, ("func",)),
    "add_url_rule": (2, ("view_func",)),
    "add_api_route": (1, ("endpoint",)),
    "add_route": (1, ("route", "endpoint")),
}


def _names_in(node: ast.AST) -> tuple[set[str], set[str]]:
    """(the names, the attribute names) in ``node``."""
    names: set[str] = set()
    attrs: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            attrs.add(sub.attr)
    return names, attrs


def _target_names(call: ast.Call, spec: tuple[int, tuple[str, ...]]) -> tuple[set[str], set[str]]:
    """The names in the argument a registration call runs on a thread (as the rules'
    ``_arg`` finds it); every argument's names when a ``*`` or ``**`` argument hides the order."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        names: set[str] = set()
        attrs: set[str] = set()
        for arg in (*call.args, *call.keywords):
            more = _names_in(arg)
            names |= more[0]
            attrs |= more[1]
        return names, attrs
    index, keywords = spec
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return _names_in(keyword.value)
    return _names_in(call.args[index]) if len(call.args) > index else (set(), set())


def _opens(node: ast.AST) -> bool:
    return any(isinstance(sub, ast.Call) and _last(sub) == "open" for sub in ast.walk(node))


def _target_name_nodes(target: ast.AST) -> list[ast.Name]:
    return [sub for sub in ast.walk(target) if isinstance(sub, ast.Name)]


def _params(args: ast.arguments) -> list[str]:
    out = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    out += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return out


def _scope_of(name: str, owner: _Owner) -> _Owner:
    """Where a read of ``name`` in ``owner`` looks for its bindings, as Python resolves it: the
    first scope out from ``owner`` where the name is certainly local (a class body only for its
    own statements, not for the functions in it), else the module. Names a scope may or may not
    bind (a comprehension's target, a walrus, ``except ... as``) do not stop the search: the
    scopes passed on the way are read too (:func:`_candidates`), so the answer only grows."""
    scope: _Owner | None = owner
    first = True
    while scope is not None and scope.parent is not None:
        if scope.is_class and not first:
            scope = scope.parent
            continue
        if name in scope.globals:
            break
        if name in scope.local and name not in scope.nonlocals:
            return scope
        first = False
        scope = scope.parent
    while owner.parent is not None:
        owner = owner.parent
    return owner


def _candidates(name: str, owner: _Owner) -> list[_Owner]:
    """The scopes whose bindings of ``name`` a read in ``owner`` may see: each scope from
    ``owner`` out to the one :func:`_scope_of` stops at."""
    stop = _scope_of(name, owner)
    out: list[_Owner] = []
    scope: _Owner | None = owner
    while scope is not None:
        out.append(scope)
        if scope is stop:
            break
        scope = scope.parent
    return out


def _class_and_bases(cls: _Owner, by_name: dict[str, list[_Owner]]) -> list[_Owner]:
    """``cls`` and every class of the module its bases may name (by last name, transitively): where
    ``self.m`` may find ``m`` (the rules look in the class, then its bases)."""
    out: list[_Owner] = []
    todo = [cls]
    while todo:
        current = todo.pop()
        if any(current is done for done in out):
            continue
        out.append(current)
        for base in current.bases:
            todo.extend(found for found in by_name.get(base, ()) if found.is_class)
    return out


def _threaded_effects(tree: ast.Module, facts: Facts) -> tuple[bool, bool, bool]:
    """(a function a threaded entry point may reach writes a file, ... writes module state, ...
    names a file object a module-level name may hold).

    The entry points are the functions named in the arguments of an entry-point call, the sync
    functions with a registration decorator and the classes with a threaded handler base. A name is
    looked up as Python does, from the function that reads it outwards to the first scope that
    certainly binds it (:func:`_scope_of`), and it reaches the functions and classes of that name
    defined in those scopes and, through a name bound by an assignment, a ``for`` or a ``with``
    there, the names of its value; an attribute (``x.m``) reaches every function and class named
    ``m``; a class reaches its methods and a function the functions it defines. Every call path the
    rules' own analysis follows (scope-resolved names, ``self.m()`` and ``Cls().m()`` to methods,
    ``functools.partial``, a ``for`` over a tuple of functions) is a path here, so a file where a
    flag is not set has nothing for ASL300, ASL302 or ASL301 (in turn) to report."""
    entries = _tables()[4]
    by_name: dict[str, list[_Owner]] = {}
    #: registrations: (names, attribute names) of a target, and the scope the call is in
    registered: list[tuple[set[str], set[str], _Owner]] = []
    seeds: list[_Owner] = []
    #: (name, where) bound to a value that opens a file; module-level ones (or, below, bound to a
    #: value naming one: ``csv.writer(LOG)``) are the file objects ASL301 looks for
    opening: list[tuple[str, _Owner]] = []
    all_bindings: dict[str, set[str]] = {}
    module = _Owner(sync=False)
    owners: list[_Owner] = [module]
    #: classes the module body instantiates into a name (``STORE = Store()``)
    singletons = {
        stmt.value.func.id
        for stmt in tree.body
        if isinstance(stmt, (ast.Assign, ast.AnnAssign))
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Name)
    }
    stack: list[tuple[ast.AST, _Owner]] = [(tree, module)]

    def bind(owner: _Owner, name: str, value: tuple[set[str], set[str]], certain: bool) -> None:
        owner.bind(name, *value)
        all_bindings.setdefault(name, set()).update(value[0], value[1])
        if certain:
            owner.local.add(name)

    while stack:
        node, owner = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            is_class = isinstance(node, ast.ClassDef)
            inner = _Owner(sync=isinstance(node, ast.FunctionDef), parent=owner, is_class=is_class, name=node.name)
            owners.append(inner)
            by_name.setdefault(node.name, []).append(inner)
            owner.children.append(inner)
            owner.defs.setdefault(node.name, []).append(inner)
            owner.names.add(node.name)
            owner.local.add(node.name)
            if is_class:
                assert isinstance(node, ast.ClassDef)
                outer: list[ast.AST] = [*node.decorator_list, *node.bases, *node.keywords]
                for base in node.bases:
                    name = _last(base)
                    if name is not None:
                        inner.attrs.add(name)  # its base class's methods, wherever the base is
                        inner.bases.append(name)
                        if name in entries or facts.aliases.get(name) in entries:
                            seeds.append(inner)
            else:
                assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                outer = [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
                outer += [a.annotation for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg) if a is not None and a.annotation is not None]
                if node.returns:
                    outer.append(node.returns)
                inner.local.update(_params(node.args))
                positional = [*node.args.posonlyargs, *node.args.args]
                if owner.is_class and positional:
                    inner.receiver = positional[0].arg
                inner.names.update(_params(node.args))
                decorators = {_last(d) for d in node.decorator_list}
                decorators |= {facts.aliases.get(d or "") for d in decorators}
                if inner.sync and any(f"@{d}" in entries for d in decorators if d):
                    seeds.append(inner)
            stack.extend((child, owner) for child in outer)
            stack.extend((child, inner) for child in node.body)
            continue
        if isinstance(node, ast.Name):
            owner.names.add(node.id)
            continue
        if isinstance(node, ast.Attribute):
            on = node.value
            if owner.receiver is not None and isinstance(on, ast.Name) and on.id == owner.receiver:
                owner.own_attrs.add(node.attr)
            else:
                owner.attrs.add(node.attr)
        elif isinstance(node, ast.Call):
            name = _last(node)
            for called in (name, facts.aliases.get(name or "")):
                spec = _TARGET_ARGS.get(called or "")
                if spec is None and isinstance(node.func, ast.Attribute):
                    spec = _METHOD_TARGET_ARGS.get(called or "")
                if spec is not None:
                    registered.append((*_target_names(node, spec), owner))
            if owner.sync and name in _FILE_WRITES and _may_write(node, name):
                owner.write = True
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = _names_in(node.value) if node.value is not None else (set(), set())
            opens = node.value is not None and _opens(node.value)
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        # a walrus may bind in an enclosing function (in a comprehension)
                        bind(owner, sub.id, value, certain=not isinstance(node, ast.NamedExpr))
                        if opens:
                            opening.append((sub.id, owner))
                    elif owner.sync and isinstance(sub, (ast.Subscript, ast.Attribute)) and not isinstance(node, ast.NamedExpr):
                        root = _target_root(sub)
                        if root is not None and (
                            root in facts.module_names
                            # ``self.hits += 1`` in a method (first parameter ``self``) of a class the
                            # module instantiates at module level (``STORE = Store()``), as the rules'
                            # ``singleton`` finds it
                            or (
                                root == "self"
                                and owner.receiver == "self"
                                and owner.parent is not None
                                and owner.parent.name in singletons
                            )
                        ):
                            owner.state = True
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            value = _names_in(node.iter)
            for sub in _target_name_nodes(node.target):
                # a comprehension's target is its own scope's: it does not hide an outer binding
                bind(owner, sub.id, value, certain=not isinstance(node, ast.comprehension))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            value = _names_in(node.context_expr)
            opens = _opens(node.context_expr)
            for sub in _target_name_nodes(node.optional_vars):
                bind(owner, sub.id, value, certain=True)
                if opens:
                    opening.append((sub.id, owner))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    owner.local.add(alias.asname or alias.name.split(".", 1)[0])
        elif isinstance(node, ast.Global):
            owner.globals.update(node.names)
            owner.state = owner.state or owner.sync
        elif isinstance(node, ast.Nonlocal):
            owner.nonlocals.update(node.names)
        stack.extend((child, owner) for child in ast.iter_child_nodes(node))
    # a ``global`` or ``nonlocal`` name's bindings and definitions are the outer scope's
    for owner in owners:
        for declared, to_module in ((owner.globals, True), (owner.nonlocals, False)):
            for name in declared:
                outer_scope: _Owner | None = owner.parent
                while outer_scope is not None and not to_module and outer_scope.is_class:
                    outer_scope = outer_scope.parent
                if to_module:
                    outer_scope = module
                if outer_scope is None:
                    continue
                bound = owner.bindings.get(name)
                if bound is not None:
                    outer_scope.bind(name, *bound)
                for inner in owner.defs.get(name, ()):
                    outer_scope.defs.setdefault(name, []).append(inner)
    write = state = False
    seen: set[str] = set()
    reached: set[int] = set()
    looked: set[tuple[int, str]] = set()
    todo: list[_Owner] = list(seeds)
    attrs_todo: list[str] = []
    names_todo: list[tuple[str, _Owner]] = []
    for names, attrs, where in registered:
        names_todo.extend((name, where) for name in names)
        attrs_todo.extend(attrs)
    done_attrs: set[str] = set()
    while todo or names_todo or attrs_todo:
        if todo:
            func = todo.pop()
            if id(func) in reached:
                continue
            reached.add(id(func))
            write = write or func.write
            state = state or func.state
            todo.extend(func.children)
            names_todo.extend((name, func) for name in func.names)
            attrs_todo.extend(func.attrs)
            if func.own_attrs:
                assert func.parent is not None
                for cls in _class_and_bases(func.parent, by_name):
                    for attr in func.own_attrs:
                        seen.add(attr)
                        todo.extend(cls.defs.get(attr, ()))
            continue
        if attrs_todo:
            attr = attrs_todo.pop()
            seen.add(attr)
            if attr not in done_attrs:
                done_attrs.add(attr)
                todo.extend(by_name.get(attr, ()))
            continue
        name, where = names_todo.pop()
        seen.add(name)
        for scope in _candidates(name, where):
            if (id(scope), name) in looked:
                continue
            looked.add((id(scope), name))
            todo.extend(scope.defs.get(name, ()))
            bound = scope.bindings.get(name)
            if bound is not None:
                names_todo.extend((more, scope) for more in bound[0])
                attrs_todo.extend(bound[1])
    opened = {name for name, where in opening if where is module or name in where.globals}
    grown = True
    while grown:
        more = {name for name, refs in all_bindings.items() if name not in opened and refs & opened}
        opened |= more
        grown = bool(more)
    return write, state, bool(opened & seen)


def _blocking_possible(facts: Facts, config: Config, code: str) -> bool:
    calls, methods, wildcard, _, _ = _tables()
    names = facts.coroutine_calls
    if not names and not facts.coroutine_with:
        return False
    if code == "ASL250" and (facts.coroutine_with or "acquire" in names or "release" in names):
        return True
    if config.extra_blocking_calls:
        extra = {_root_and_last(n)[1] for n in config.extra_blocking_calls}
        if names & extra:
            return True
    for root in facts.roots:
        found = calls.get(root)
        if found is not None and names & found:
            return True
        found = methods.get(root)
        if found is not None and names & found:
            return True
        if facts.coroutine_method_call and root in wildcard:
            return True
    return False


def _never_awaits(facts: Facts) -> bool:
    """ASL100 reports a non-suspending ``async def`` that is a framework handler (it has a
    decorator) or that is private or nested and awaited by name in the module."""
    entries = _tables()[4]
    # any decorator of a module of Azure Functions (an app's every method registers) or Django
    any_decorator = bool(facts.roots & _FRAMEWORK_ROOTS)
    return any(
        "@" in decorators
        or (decorators and (any_decorator or decorators & entries))
        or (hidden and name in facts.awaited)
        for name, decorators, hidden in facts.never_suspend
    )


def _unawaited_possible(facts: Facts) -> bool:
    # ASL101 proves a coroutine function of the module three ways (rules/unawaited_coroutine.py):
    # ``f()`` where every binding of ``f`` the call sees is an ``async def`` (a method is seen only
    # from its class body); ``self.m()`` where ``self`` is the first parameter of a method and
    # ``m`` an ``async def`` of its class; ``Cls.m()`` where ``Cls`` is a class of the module
    if facts.discarded_names & facts.async_functions or facts.discarded_in_class & facts.async_names:
        return True
    receivers = facts.method_receivers | facts.class_names
    if any(attr in facts.async_methods and receiver in receivers for receiver, attr in facts.discarded_attrs):
        return True
    coroutines = _tables()[3]
    for root in facts.roots & coroutines.keys():
        if facts.discarded & coroutines[root]:
            return True
    return False


def _entry_possible(facts: Facts, config: Config) -> bool:
    if config.thread_entrypoints or facts.roots & _FRAMEWORK_ROOTS:
        return True
    return bool(facts.entry_names & _tables()[4])


def _writes_module_state(facts: Facts) -> bool:
    if facts.sync_global or facts.state_roots & facts.module_names:
        return True
    # ``self.hits += 1`` in a method of a class the module instantiates once (``STORE = Store()``)
    return "self" in facts.state_roots and bool(facts.module_calls & facts.class_names)


def admits(rule: Any, facts: Facts, config: Config) -> bool:
    """False when ``rule`` cannot report anything in the file ``facts`` describes."""
    gate = rule.gate
    if gate is None:
        return True
    if gate == "no-await":
        return _never_awaits(facts)
    if gate == "coroutine-calls":
        return _blocking_possible(facts, config, rule.code)
    if gate == "loop-run":
        return bool(facts.coroutine_calls & _LOOP_RUNS)
    if gate == "unawaited":
        return _unawaited_possible(facts)
    if gate == "helper-calls":
        # a call in a coroutine body that is not awaited; :func:`admitted` then follows it
        return bool(facts.coroutine_calls)
    if gate == "threads-write":
        # a file opened for writing or written by a Path method, in some function
        return facts.file_write and _entry_possible(facts, config)
    if gate == "threads-handle":
        # a file object opened at import time (or into a ``global`` by a function)
        opened = "open" in facts.module_calls or (facts.sync_global and "open" in facts.sync_calls)
        return opened and _entry_possible(facts, config)
    if gate == "threads-state":
        return _writes_module_state(facts) and _entry_possible(facts, config)
    raise ValueError(f"unknown gate {gate!r}")


#: the gates :func:`_threaded_effects` narrows, in the order of its flags
_REACH_GATES = ("threads-write", "threads-state", "threads-handle")


def admitted(rules: Sequence[R], tree: ast.Module, config: Config, path: str = "") -> list[R]:
    """The rules of ``rules`` (classes or asynclint.specs.Spec) the gate keeps for the file whose
    tree is ``tree`` (at ``path``: ASL290 follows imports from there)."""
    if all(rule.gate is None for rule in rules):  # type: ignore[attr-defined]
        return list(rules)
    facts = facts_of(tree)
    if facts.invalid:
        return list(rules)
    kept = [rule for rule in rules if admits(rule, facts, config)]
    reach = [rule for rule in kept if rule.gate in _REACH_GATES]  # type: ignore[attr-defined]
    if reach and not config.thread_entrypoints and not facts.roots & _FRAMEWORK_ROOTS:
        # the thread rules need an entry point that reaches the write, not only both in the file
        effects = dict(zip(_REACH_GATES, _threaded_effects(tree, facts)))
        dropped = {r.code for r in reach if not effects[r.gate]}  # type: ignore[attr-defined]
        kept = [rule for rule in kept if rule.code not in dropped]  # type: ignore[attr-defined]
    if any(rule.gate == "helper-calls" for rule in kept):  # type: ignore[attr-defined]
        # ASL290's analysis is itself a walk of this tree and of the modules it calls into
        from asynclint import callgraph

        if not callgraph.coroutine_findings(tree, path, config):
            kept = [rule for rule in kept if rule.gate != "helper-calls"]  # type: ignore[attr-defined]
    return kept


if __name__ == "__main__":
    from importlib import resources as _resources

    target = _resources.files("asynclint").joinpath("data").joinpath(TABLES_FILE)
    with open(str(target), "w", encoding="utf-8") as _fh:
        _fh.write(tables_json())
    print(f"wrote {target}")
