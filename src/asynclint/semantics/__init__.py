"""Per-file facts every rule shares: coroutine context, callee names, the async library, import reuse."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from asynclint.rule import Fix, ImportSpec

if TYPE_CHECKING:
    from asynclint.config import Config
    from asynclint.rule import Rule

_RESOLVED_SOURCES = (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)
_SCOPE_OWNERS = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_MAX_CHAIN = 6

#: library coroutine functions whose discarded call result is a bug (ASL101)
LIBRARY_COROUTINES = frozenset(
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
        self.imports = _module_imports(self.module)
        self.library = _detect_library(self.imports)
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
            if isinstance(parent, _SCOPE_OWNERS) and parent.body is node:
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
        return values

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
    def module_ref(self, module: str) -> tuple[str, tuple[ImportSpec, ...]]:
        """The expression that names ``module`` here, reusing an existing ``import m [as a]``, and
        the imports to add when there is none."""
        alias = self.imports.get(module)
        if alias is not None:
            return alias, ()
        return module, (ImportSpec(module),)

    def memo(self, key: str, factory: object) -> object:
        """Per-file cache for analyses several rules share (threaded entry points, call graph)."""
        if key not in self._extra:
            self._extra[key] = factory() if callable(factory) else factory
        return self._extra[key]

    # -- reporting -------------------------------------------------------------------------
    def add_finding(self, rule: Rule, node: cst.CSTNode, message: str, fix: Fix | None) -> None:
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
    pop, extend = todo.pop, todo.extend
    while todo:
        node = pop()
        children = node.children
        for child in children:
            parents[child] = node
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


def _detect_library(imports: Mapping[str, str]) -> str:
    for lib in ("trio", "anyio"):
        if any(key == lib or key.startswith(lib + ".") or key in (f"from:{lib}",) or key.startswith(f"from:{lib}.") for key in imports):
            return lib
    return "asyncio"


def _dotted(node: cst.BaseExpression) -> str:
    """``a.b.c`` for a dotted name, "" for anything else."""
    return get_full_name_for_node(node) or ""
