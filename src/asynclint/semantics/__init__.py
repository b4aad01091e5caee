"""Per-file facts every rule shares: coroutine context, callee names, the async library, import reuse."""
from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Iterable, Mapping

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from asynclint import traversal
from asynclint.rule import Fix, ImportSpec

if TYPE_CHECKING:
    from asynclint.config import Config
    from asynclint.rule import Rule

_RESOLVED_SOURCES = (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)

#: well-known modules that a snippet uses without importing them (``subprocess.run()`` with no
#: ``import subprocess``): named as the module when the name is bound nowhere in the file
_UNIMPORTED_MODULES = frozenset(
    {
        "os", "subprocess", "time", "requests", "httpx", "urllib", "urllib3", "io", "pathlib", "shutil",
        "glob", "socket", "ssl", "sqlite3", "asyncio", "trio", "anyio", "http", "codecs", "tempfile",
        "httpx2",
    }
)


def _unbound_module_name(node: cst.Name | cst.Attribute, scope: object) -> set[str]:
    """``{"subprocess.run"}`` for ``subprocess.run`` when ``subprocess`` is bound nowhere (no
    import, no assignment, not a builtin, in the scopes the use sees): a snippet that leaves its
    imports out, or a star import of the module. A name bound where the use sees it is never
    guessed."""
    root: cst.BaseExpression = node
    while isinstance(root, cst.Attribute):
        root = root.value
    if not isinstance(root, cst.Name) or root.value not in _UNIMPORTED_MODULES:
        return set()
    try:
        if root.value in scope or any(root.value in s for s in _all_scopes(scope)):  # type: ignore[operator]
            return set()
    except Exception:  # noqa: BLE001 - a scope libcst could not build: no guess
        return set()
    name = get_full_name_for_node(node)
    return {name} if name else set()


def _optional_inner(expr: cst.BaseExpression, ctx: Context) -> cst.BaseExpression | None:
    """``T`` for ``T``, ``Optional[T]``, ``T | None``, ``None | T``; None for other unions."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
        left, right = expr.left, expr.right
        if isinstance(right, cst.Name) and right.value == "None":
            return _optional_inner(left, ctx)
        if isinstance(left, cst.Name) and left.value == "None":
            return _optional_inner(right, ctx)
        return None
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
        names = ctx.qualified_names(expr.value)
        if names & {"typing.Optional"} or (not names and isinstance(expr.value, cst.Name) and expr.value.value == "Optional"):
            element = expr.slice[0].slice
            return _optional_inner(element.value, ctx) if isinstance(element, cst.Index) else None
        return None
    if isinstance(expr, (cst.Name, cst.Attribute)):
        return expr
    return None


def _all_scopes(scope: object) -> list[object]:
    """The global scope and every scope under it (a name bound in any of them is not guessed)."""
    glob = getattr(scope, "globals", None)
    return [glob] if glob is not None else []
_SCOPE_OWNERS = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_SCOPE_OWNER_CLASSES = frozenset(_SCOPE_OWNERS)
_MAX_CHAIN = 10

def _generated_coroutines() -> frozenset[str]:
    """The coroutine functions and methods of asyncio, trio and anyio, as
    ``tools/library_coroutines.py`` read them from the libraries (``data/library_coroutines.json``)."""
    import json
    from importlib import resources

    text = resources.files("asynclint").joinpath("data").joinpath("library_coroutines.json").read_text(encoding="utf-8")
    return frozenset(json.loads(text)["coroutines"])


#: library coroutine functions whose discarded call result is a bug (ASL101): the generated table,
#: and the names it cannot see (a coroutine method reached through a factory, private modules)
LIBRARY_COROUTINES = _generated_coroutines() | frozenset(
    {
        "asyncio.sleep",
        "asyncio.wait_for",
        "asyncio.wait",
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.start_server",
        "asyncio.start_unix_server",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.to_thread",
        "asyncio.staggered.staggered_race",
        "trio.sleep",
        "trio.sleep_forever",
        "trio.sleep_until",
        "trio.open_tcp_stream",
        "trio.run_process",
        "trio.to_thread.run_sync",
        "anyio.sleep",
        "anyio.sleep_forever",
        "anyio.sleep_until",
        "anyio.connect_tcp",
        "anyio.open_file",
        "anyio.run_process",
        "anyio.to_thread.run_sync",
        # methods of asyncio objects built in the module or scope (``Context.callee_names`` notation)
        *(f"asyncio.{q}().{m}" for q in ("Queue", "LifoQueue", "PriorityQueue") for m in ("get", "put", "join")),
        *(f"asyncio.{p}().acquire" for p in ("Lock", "Semaphore", "BoundedSemaphore", "Condition")),
        "asyncio.Event().wait",
        "asyncio.Condition().wait",
        "asyncio.Condition().wait_for",
        *(
            f"asyncio.{g}().{m}"
            for g in ("get_running_loop", "get_event_loop")
            for m in ("sock_connect", "sock_recv", "sock_sendall", "sock_accept", "getaddrinfo", "create_connection", "create_server")
        ),
    }
)

ASYNC_LIBRARIES = ("asyncio", "trio", "anyio")


@dataclasses.dataclass(frozen=True)
class AliasedImport(ImportSpec):
    """``import module as asname``: a module a fix needs under a name of its own, because the
    module's own name means something else where the fix goes. :class:`ImportSpec` cannot say
    ``as``, so :meth:`Context.add_finding` turns this into a module-level statement of the fix's
    ``prelude`` (inserted after the module's leading imports, once per file)."""

    asname: str = ""

    @property
    def statement(self) -> str:
        return f"import {self.module} as {self.asname}"


class PendingFinding:
    """A finding before positions are resolved (positions cost a full codegen pass)."""

    __slots__ = ("rule", "node", "message", "fix")

    def __init__(self, rule: Rule, node: cst.CSTNode, message: str, fix: Fix | None) -> None:
        self.rule = rule
        self.node = node
        self.message = message
        self.fix = fix


class Context:
    """Facts about one parsed module, computed once and shared by every rule of the traversal.

    Traversal state (the node stack and the stack of scopes) is kept up to date by the engine
    through :meth:`before_visit` and :meth:`after_leave`, which run around every rule's
    ``visit_*``/``leave_*`` of a node.
    """

    def __init__(self, wrapper: MetadataWrapper, path: str, config: Config, source: bytes = b"") -> None:
        self.wrapper = wrapper
        self.module: cst.Module = wrapper.module
        self.path = path
        self.config = config
        #: the file's bytes, for cheap whole-file text questions (how often a name occurs)
        self.source = source
        # ScopeProvider is the one metadata pass: qualified names are asked of the scopes lazily
        # (what QualifiedNameProvider does, without its extra traversal), and parents come from a
        # plain walk over ``children``, several times cheaper than ParentNodeProvider's visitor.
        self._scopes_meta: Mapping[cst.CSTNode, object] = wrapper.resolve(ScopeProvider)
        self._qnames_cache: dict[int, set[str]] = {}
        self._parents: dict[cst.CSTNode, cst.CSTNode] = _parent_map(self.module)
        #: module-level ``import x [as y]``: module -> local name (see :meth:`module_ref` for
        #: a name that is right at a given node)
        self.imports = _module_imports(self.module)
        #: scope -> the async libraries its own import statements import (built on first use)
        self._libraries_by_scope: dict[object, set[str]] | None = None
        self._library_cache: dict[int, str] = {}
        #: the file names neither trio nor anyio (known after the first library question)
        self._asyncio_only: bool | None = None
        self.findings: list[PendingFinding] = []
        self.stack: list[cst.CSTNode] = []
        # (owner, body) pairs: owner is a FunctionDef, Lambda or ClassDef whose body we are in
        self.scopes: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        self._extra: dict[str, object] = {}

    # -- traversal hooks -------------------------------------------------------------------
    def before_visit(self, node: cst.CSTNode) -> None:
        stack = self.stack
        if stack:
            parent = stack[-1]
            # the exact classes (libcst has no subclasses of them): isinstance against libcst's
            # abstract base classes is slow on every node
            if parent.__class__ in _SCOPE_OWNER_CLASSES and parent.body is node:
                self.scopes.append((parent, node))
        stack.append(node)

    def after_leave(self, node: cst.CSTNode) -> None:
        self.stack.pop()
        scopes = self.scopes
        if scopes and scopes[-1][1] is node:
            scopes.pop()

    # -- context ---------------------------------------------------------------------------
    @property
    def in_coroutine(self) -> bool:
        """True inside a coroutine body: the innermost enclosing function is an ``async def``."""
        if not self.scopes:
            return False
        owner = self.scopes[-1][0]
        return isinstance(owner, cst.FunctionDef) and owner.asynchronous is not None

    @property
    def library(self) -> str:
        """The async library of the code being visited ("asyncio", "trio" or "anyio"); see
        :meth:`library_at`."""
        return self.library_at(self.stack[-1] if self.stack else self.module)

    def library_at(self, node: cst.CSTNode) -> str:
        """The async library the code at ``node`` runs under.

        The innermost scope around ``node`` (its function, the enclosing functions, the module)
        whose own import statements import an async library decides, trio before anyio before
        asyncio within one scope: ``async def f(): import trio`` is trio code in an asyncio module.
        When none does, a trio or anyio import anywhere in the module (inside another function)
        decides; asyncio otherwise."""
        if self._asyncio_only is None:
            self._asyncio_only = bool(self.source) and b"trio" not in self.source and b"anyio" not in self.source
        if self._asyncio_only:
            return "asyncio"  # the usual file: no scan of its imports (the byte scan is done once)
        scope = self._scopes_meta.get(node)
        key = id(scope)
        cached = self._library_cache.get(key)
        if cached is not None:
            return cached
        by_scope = self._libraries_by_scope
        if by_scope is None:
            by_scope = self._libraries_by_scope = self._scan_library_imports()
        found: str | None = None
        current = scope
        while current is not None and found is None:
            libs = by_scope.get(current)
            if libs:
                found = _pick_library(libs)
            if isinstance(current, GlobalScope):
                break
            current = getattr(current, "parent", None)
        if found is None:
            found = _pick_library(set().union(*by_scope.values()))
        self._library_cache[key] = found
        return found

    def _scan_library_imports(self) -> dict[object, set[str]]:
        out: dict[object, set[str]] = {}
        for node in self._parents:
            if isinstance(node, (cst.Import, cst.ImportFrom)):
                libs = {m.split(".", 1)[0] for m in _imported_modules(node)} & set(ASYNC_LIBRARIES)
                if libs:
                    out.setdefault(self._scopes_meta.get(node), set()).update(libs)
        return out

    @property
    def current_function(self) -> cst.FunctionDef | None:
        """The function whose body directly holds the current node (None in lambdas, classes, module)."""
        if not self.scopes:
            return None
        owner = self.scopes[-1][0]
        return owner if isinstance(owner, cst.FunctionDef) else None

    @property
    def enclosing_class(self) -> cst.ClassDef | None:
        """The class whose method body holds the current node (``self.x()`` resolution)."""
        if len(self.scopes) >= 2 and isinstance(self.scopes[-1][0], cst.FunctionDef):
            owner = self.scopes[-2][0]
            if isinstance(owner, cst.ClassDef):
                return owner
        return None

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(node)

    def is_awaited(self, node: cst.CSTNode) -> bool:
        parent = self._parents.get(node)
        return isinstance(parent, cst.Await)

    def is_discarded(self, call: cst.CSTNode) -> bool:
        """True when the call is a whole expression statement: its value is thrown away."""
        parent = self._parents.get(call)
        return isinstance(parent, cst.Expr)

    # -- names -----------------------------------------------------------------------------
    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Qualified names of ``node`` that come from imports or builtins (never locals)."""
        key = id(node)
        cached = self._qnames_cache.get(key)
        if cached is not None:
            return cached
        scope = self._scopes_meta.get(node)
        names: set[str] = set()
        if scope is not None:
            names = {
                q.name
                for q in scope.get_qualified_names_for(node)  # type: ignore[attr-defined]
                if q.source in _RESOLVED_SOURCES
            }
        if not names and scope is not None and isinstance(node, (cst.Name, cst.Attribute)):
            names = _unbound_module_name(node, scope)
        self._qnames_cache[key] = names
        return names

    def callee_names(self, call: cst.Call) -> set[str]:
        """Names a call resolves to. Methods of objects built from a resolved constructor are named
        ``ctor().method`` (``requests.Session().get``, ``sqlite3.connect().cursor().execute``)."""
        return self.expr_names(call.func)

    def expr_names(self, expr: cst.BaseExpression, depth: int = 0) -> set[str]:
        if depth > _MAX_CHAIN:
            return set()
        if isinstance(expr, cst.Attribute) and _crosses_call(expr.value):
            # libcst names ``requests.Session().get`` "requests.Session.get": keep the call visible
            return {f"{base}.{expr.attr.value}" for base in self.instance_names(expr.value, depth + 1)}
        if not isinstance(expr, (cst.Name, cst.Attribute)):
            # ``time.sleep(1)()`` calls what ``time.sleep`` returned: libcst would name it "time.sleep"
            return set()
        names = self.qualified_names(expr)
        if names:
            return names
        if isinstance(expr, cst.Attribute):
            return {f"{base}.{expr.attr.value}" for base in self.instance_names(expr.value, depth + 1)}
        return names

    def instance_names(self, expr: cst.BaseExpression, depth: int = 0) -> set[str]:
        """What an object expression was built by: ``{"requests.Session()"}`` for a session."""
        if depth > _MAX_CHAIN:
            return set()
        if isinstance(expr, cst.Call):
            return {f"{n}()" for n in self.expr_names(expr.func, depth + 1)}
        if isinstance(expr, cst.Name):
            out: set[str] = set()
            for value in self.bound_values(expr):
                if value is not expr:
                    out |= self.instance_names(value, depth + 1)
            for annotation in self.annotations(expr):
                out |= {f"{n}()" for n in self.expr_names(annotation, depth + 1)}
            return out
        if isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name):
                values = self.self_attribute_values(expr.value, expr.attr.value)
                if values:
                    out = set()
                    for value in values:
                        out |= self.instance_names(value, depth + 1)
                    return out
            # attribute hops on an object (``client.db.users``) keep its origin visible
            return {f"{base}.{expr.attr.value}" for base in self.instance_names(expr.value, depth + 1)}
        if isinstance(expr, cst.Subscript):
            return {f"{base}[]" for base in self.instance_names(expr.value, depth + 1)}
        if isinstance(expr, cst.IfExp):
            # ``httpx.Client() if sync else httpx.AsyncClient()``: either
            return self.instance_names(expr.body, depth + 1) | self.instance_names(expr.orelse, depth + 1)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            return self.instance_names(expr.left, depth + 1)  # ``Path(p) / "name"`` is a path too
        if isinstance(expr, cst.Await) and isinstance(expr.expression, cst.Call):
            # ``await asyncio.to_thread(sqlite3.connect, p)`` is a connection like ``sqlite3.connect(p)``
            inner = expr.expression
            if inner.args and self.qualified_names(inner.func) & _THREAD_RUNNERS:
                target = inner.args[0].value
                if isinstance(target, cst.Call) and self.qualified_names(target.func) & {"functools.partial"} and target.args:
                    target = target.args[0].value
                return {f"{n}()" for n in self.expr_names(target, depth + 1)}
        return set()

    def bound_values(self, name: cst.Name) -> list[cst.BaseExpression]:
        """The expressions a name may have been bound to in its scope (assignments, ``with ... as``)."""
        scope = self._scopes_meta.get(name)
        if scope is None:
            return []
        values: list[cst.BaseExpression] = []
        for assignment in scope[name.value]:  # type: ignore[index]
            if not isinstance(assignment, Assignment):
                continue
            target = assignment.node
            parent = self._parents.get(target)
            if isinstance(parent, cst.AssignTarget):
                assign = self._parents.get(parent)
                if isinstance(assign, cst.Assign) and parent.target is target:
                    values.append(assign.value)
            elif isinstance(parent, cst.AnnAssign) and parent.value is not None and parent.target is target:
                values.append(parent.value)
            elif isinstance(parent, cst.AsName):
                item = self._parents.get(parent)
                if isinstance(item, cst.WithItem):
                    values.append(item.item)
            elif isinstance(parent, cst.NamedExpr) and parent.target is target:
                values.append(parent.value)
            elif isinstance(parent, cst.Element):
                # ``(p1, p2) = (Path("a"), Path("b"))``: the element at the same position
                value = self._unpacked_value(parent)
                if value is not None:
                    values.append(value)
        return values

    def _unpacked_value(self, element: cst.Element) -> cst.BaseExpression | None:
        display = self._parents.get(element)
        target = self._parents.get(display) if isinstance(display, (cst.Tuple, cst.List)) else None
        assign = self._parents.get(target) if isinstance(target, cst.AssignTarget) else None
        if not isinstance(assign, cst.Assign) or target.target is not display:  # type: ignore[union-attr]
            return None
        value = assign.value
        if not isinstance(value, (cst.Tuple, cst.List)) or any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        targets = list(display.elements)
        index = targets.index(element)
        stars = [i for i, e in enumerate(targets) if isinstance(e, cst.StarredElement)]
        if not stars:
            return value.elements[index].value if len(targets) == len(value.elements) else None
        # ``first, *rest, last = (A(), B(), C(), D())``: the names around one star keep their places
        if len(stars) > 1 or len(value.elements) < len(targets) - 1:
            return None
        if index < stars[0]:
            return value.elements[index].value
        return value.elements[len(value.elements) - (len(targets) - index)].value

    def annotations(self, name: cst.Name) -> list[cst.BaseExpression]:
        """The types a name is declared with where it is bound: a parameter's annotation
        (``client: httpx.Client``), an annotated assignment (``conn: sqlite3.Connection = ...``).
        ``Optional[T]``, ``T | None`` and ``None | T`` give ``T``; other unions give nothing."""
        scope = self._scopes_meta.get(name)
        if scope is None:
            return []
        out: list[cst.BaseExpression] = []
        for assignment in scope[name.value]:  # type: ignore[index]
            if not isinstance(assignment, Assignment):
                continue
            node = assignment.node
            annotation: cst.Annotation | None = None
            if isinstance(node, cst.Param):
                annotation = node.annotation
            else:
                parent = self._parents.get(node)
                if isinstance(parent, cst.AnnAssign) and parent.target is node:
                    annotation = parent.annotation
            if annotation is not None:
                declared = _optional_inner(annotation.annotation, self)
                if declared is not None:
                    out.append(declared)
        return out

    def self_attribute_values(self, receiver: cst.Name, attr: str) -> list[cst.BaseExpression]:
        """What ``self.attr`` may hold, where ``receiver`` is the ``self`` of a method: the values
        of ``self.attr = value`` in the class's methods, and of ``attr = value`` in its body. Empty
        when ``receiver`` is not a method's unrebound first parameter."""
        scope = self._scopes_meta.get(receiver)
        func = getattr(scope, "node", None)
        if not isinstance(func, cst.FunctionDef):
            return []
        block = self._parents.get(func)
        cls = self._parents.get(block) if block is not None else None
        if not isinstance(cls, cst.ClassDef) or any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in func.decorators
        ):
            return []
        positional = [*func.params.posonly_params, *func.params.params]
        if not positional or positional[0].name.value != receiver.value:
            return []
        bindings = [a for a in scope[receiver.value] if isinstance(a, Assignment)]  # type: ignore[index]
        if len(bindings) != 1 or not isinstance(bindings[0].node, cst.Param):
            return []
        table: dict[str, list[cst.BaseExpression]] = self.memo(f"self-attrs:{id(cls)}", lambda: _self_attributes(cls))  # type: ignore[assignment]
        return table.get(attr, [])

    def definitions(self, name: cst.Name) -> list[cst.CSTNode]:
        """The nodes that bind ``name`` where it is used (FunctionDef, ClassDef, Import, targets)."""
        scope = self._scopes_meta.get(name)
        if scope is None:
            return []
        # builtins (BuiltinAssignment) have no node
        return [a.node for a in scope[name.value] if isinstance(a, Assignment)]  # type: ignore[index]

    def position_line(self, node: cst.CSTNode) -> int:
        """The 1-based line where ``node`` starts (a codegen pass the engine reuses for findings)."""
        return self.wrapper.resolve(PositionProvider)[node].start.line

    def scope_of(self, node: cst.CSTNode) -> object | None:
        return self._scopes_meta.get(node)

    # -- fixes -----------------------------------------------------------------------------
    def module_ref(self, module: str, at: cst.CSTNode | None = None) -> tuple[str, tuple[ImportSpec, ...]]:
        """The expression that names the top-level ``module`` and the imports to add for it.

        Without ``at``: the module-level name (for module-level statements), reusing an existing
        ``import m [as a]``, else ``m`` with ``import m`` to add.

        With ``at`` (the node a fix replaces), the name must be bound to the module *there*:
        1. an existing name (``m`` or the alias of any ``import m as a``) whose every binding seen
           from ``at`` is an import of ``m``, one of them surely run before ``at`` (a module-level
           import outside ``if``/``for``/``except``..., or an import earlier in the same statement
           sequence of the function), so a parameter, a local or a module-level ``m = None`` named
           like the module disqualifies the name;
        2. else ``m``, adding ``import m`` at module level, when nothing binds the name ``m`` where
           the fix goes (the module is imported only in other functions, or not at all);
        3. else a fresh name no one uses, ``_m`` (``_m_2``, ...), adding ``import m as _m``.
        A fix is never declined for want of a name: step 3 always gives one that is right."""
        if at is None:
            alias = self.imports.get(module)
            if alias is not None:
                return alias, ()
            return module, (ImportSpec(module),)
        candidates = [module, *(a for a in self._import_aliases(module) if a != module)]
        for name in candidates:
            if self.binds_module(at, name, module):
                return name, ()
        scope = self._scopes_meta.get(at)
        if scope is not None and not scope[module]:  # type: ignore[index]
            return module, (ImportSpec(module),)
        fresh = self._fresh_name(f"_{module}")
        return fresh, (AliasedImport(module, asname=fresh),)

    def binds_module(self, at: cst.CSTNode, name: str, module: str) -> bool:
        """``name`` read at ``at`` is surely the module ``module`` (see :meth:`module_ref`)."""
        scope = self._scopes_meta.get(at)
        if scope is None:
            return False
        assignments = scope[name]  # type: ignore[index]
        if not assignments:
            return False
        surely_run = False
        for assignment in assignments:
            if not isinstance(assignment, Assignment) or not _binds_to(assignment.node, name, module):
                return False
            if isinstance(assignment.scope, GlobalScope) and not isinstance(scope, GlobalScope):
                surely_run = surely_run or self._unconditional(assignment.node)
            else:
                surely_run = surely_run or self._runs_before(assignment.node, at)
        return surely_run

    def _import_aliases(self, module: str) -> list[str]:
        """The names ``import module as name`` statements anywhere in the file bind."""
        cache: dict[str, list[str]] = self.memo("import-aliases", dict)  # type: ignore[assignment]
        if module not in cache:
            names: list[str] = []
            for node in self._parents:
                if isinstance(node, cst.Import):
                    for alias in node.names:
                        if alias.asname is not None and isinstance(alias.asname.name, cst.Name) and _dotted(alias.name) == module:
                            if alias.asname.name.value not in names:
                                names.append(alias.asname.name.value)
            cache[module] = names
        return cache[module]

    def _unconditional(self, node: cst.CSTNode) -> bool:
        """A module-level statement that runs whenever the module is imported: not under ``if``,
        a loop, ``except``, ``else`` or ``finally`` (a ``try:`` body and ``with`` are fine)."""
        parent = self._parents.get(node)
        while parent is not None and not isinstance(parent, cst.Module):
            if not isinstance(parent, (cst.SimpleStatementLine, cst.IndentedBlock, cst.Try, cst.TryStar, cst.With)):
                return False
            parent = self._parents.get(parent)
        return True

    def _runs_before(self, node: cst.CSTNode, at: cst.CSTNode) -> bool:
        """``node`` (an import) surely runs before ``at`` whenever ``at`` runs: its statement comes
        first in a statement sequence that holds ``at`` (``import trio`` earlier in the function
        body, or in the same ``if`` branch), reached through nothing conditional (a ``with`` body
        is fine; ``if``, loops and ``try`` are not: ``if flag: import trio`` may leave it unbound)."""
        path: dict[int, cst.CSTNode] = {}
        child: cst.CSTNode = at
        parent = self._parents.get(at)
        while parent is not None:
            path[id(parent)] = child
            child, parent = parent, self._parents.get(parent)
        child = node
        parent = self._parents.get(node)
        while parent is not None and id(parent) not in path:
            if not (
                isinstance(parent, (cst.SimpleStatementLine, cst.SimpleStatementSuite, cst.With))
                or (isinstance(parent, cst.IndentedBlock) and isinstance(self._parents.get(parent), cst.With))
            ):
                return False
            child, parent = parent, self._parents.get(parent)
        if parent is None:
            return False
        if isinstance(parent, (cst.IndentedBlock, cst.Module, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            body = list(parent.body)
            mine = next((i for i, n in enumerate(body) if n is child), None)
            theirs = next((i for i, n in enumerate(body) if n is path[id(parent)]), None)
            return mine is not None and theirs is not None and mine < theirs
        return False

    def _fresh_name(self, base: str) -> str:
        """``base`` (or ``base_2``, ...) when it occurs nowhere in the file, not even in a string."""
        text = self.source.decode("utf-8", "replace") if self.source else self.module.code
        used = set(re.findall(rf"(?<!\w){re.escape(base)}(?:_\d+)?(?!\w)", text))
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        return name

    def memo(self, key: str, factory: object) -> object:
        """Per-file cache for analyses several rules share (threaded entry points, call graph)."""
        if key not in self._extra:
            self._extra[key] = factory() if callable(factory) else factory
        return self._extra[key]

    # -- reporting -------------------------------------------------------------------------
    def add_finding(self, rule: Rule, node: cst.CSTNode, message: str, fix: Fix | None) -> None:
        if fix is not None and any(isinstance(i, AliasedImport) for i in fix.imports):
            aliased = [i.statement for i in fix.imports if isinstance(i, AliasedImport)]
            fix = dataclasses.replace(
                fix,
                imports=tuple(i for i in fix.imports if not isinstance(i, AliasedImport)),
                prelude=(*aliased, *fix.prelude),
            )
        self.findings.append(PendingFinding(rule, node, message, fix))


_THREAD_RUNNERS = frozenset({"asyncio.to_thread", "trio.to_thread.run_sync", "anyio.to_thread.run_sync"})


def _self_attributes(cls: cst.ClassDef) -> dict[str, list[cst.BaseExpression]]:
    """attribute -> values bound to it in the class body (``attr = v``) or in its methods
    (``self.attr = v``, ``self`` being each method's first parameter)."""
    out: dict[str, list[cst.BaseExpression]] = {}

    def add(target: cst.BaseExpression, value: cst.BaseExpression, receiver: str | None) -> None:
        if receiver is None and isinstance(target, cst.Name):
            out.setdefault(target.value, []).append(value)
        elif (
            receiver is not None
            and isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == receiver
        ):
            out.setdefault(target.attr.value, []).append(value)

    class _Visitor(cst.CSTVisitor):
        def __init__(self, receiver: str) -> None:
            self.receiver = receiver

        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                add(t.target, node.value, self.receiver)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if node.value is not None:
                add(node.target, node.value, self.receiver)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False  # a nested function's ``self`` is another name

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    for stmt in cls.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        add(t.target, small.value, None)
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    add(small.target, small.value, None)
        elif isinstance(stmt, cst.FunctionDef):
            positional = [*stmt.params.posonly_params, *stmt.params.params]
            if positional:
                stmt.body.visit(_Visitor(positional[0].name.value))
    return out


def _crosses_call(expr: cst.BaseExpression) -> bool:
    """True when an attribute chain does not start from a plain name (``a.b().c``, ``(p / "x").c``):
    libcst's qualified name drops the calls there, or names something else entirely."""
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return not isinstance(expr, cst.Name)


def _parent_map(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    todo: list[cst.CSTNode] = [module]
    pop, extend, update = todo.pop, todo.extend, parents.update
    recorded = traversal.recorded_children()  # the walks before this one recorded almost every node
    children_of = traversal.children
    while todo:
        node = pop()
        entry = recorded.get(id(node))
        children = entry[1] if entry is not None else children_of(node)
        if children:
            update(dict.fromkeys(children, node))
            extend(children)
    return parents


def _module_imports(module: cst.Module) -> dict[str, str]:
    """Module-level ``import x`` / ``import x as y``: module name -> local name."""
    out: dict[str, str] = {}
    for stmt in _top_level_statements(module.body):
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    dotted = _dotted(alias.name)
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        out.setdefault(dotted, alias.asname.name.value)
                    elif "." not in dotted:
                        out.setdefault(dotted, dotted)
            elif isinstance(small, cst.ImportFrom) and small.module is not None and small.relative == ():
                # record that the library is used, without a usable module alias
                out.setdefault("from:" + _dotted(small.module), "")
    return out


def _top_level_statements(body: Iterable[cst.CSTNode]) -> Iterable[cst.SimpleStatementLine]:
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield stmt
        elif isinstance(stmt, (cst.If, cst.Try)):
            yield from _top_level_statements(stmt.body.body)


def _imported_modules(node: cst.Import | cst.ImportFrom) -> list[str]:
    """The absolute modules an import statement imports from (``import a.b`` -> ``a.b``)."""
    if isinstance(node, cst.Import):
        return [_dotted(alias.name) for alias in node.names]
    if node.module is not None and not node.relative:
        return [_dotted(node.module)]
    return []


def _pick_library(libraries: set[str]) -> str:
    for lib in ("trio", "anyio"):
        if lib in libraries:
            return lib
    return "asyncio"


def _binds_to(node: cst.CSTNode, name: str, module: str) -> bool:
    """``node`` (what binds ``name``) is an import statement binding ``name`` to the top-level
    ``module``: ``import m``, ``import m.sub`` (binds ``m``), ``import m as name``."""
    if not isinstance(node, cst.Import):
        return False
    found = False
    for alias in node.names:
        dotted = _dotted(alias.name)
        if alias.asname is not None:
            bound = alias.asname.name.value if isinstance(alias.asname.name, cst.Name) else ""
            right = dotted == module
        else:
            bound = dotted.split(".", 1)[0]
            right = bound == module
        if bound == name:
            if not right:
                return False
            found = True
    return found


def _dotted(node: cst.BaseExpression) -> str:
    """``a.b.c`` for a dotted name, "" for anything else."""
    return get_full_name_for_node(node) or ""
