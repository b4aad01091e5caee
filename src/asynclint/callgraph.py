"""ASL290's analysis: which sync functions block the event loop through the calls they make.

Each module is summarised once from CPython's ``ast`` (no libcst): for every sync function and
method, the first call in its own body that an ASL2xx table names (nested ``def``/``lambda`` bodies
excluded: they run when called, not here) and the calls it makes, resolved through the module's
imports, ``self.method()`` within a class and the module's own functions. Summaries are kept per
process by file signature.

A call in a coroutine body is followed into the function it names: in the same module, in another
module of the project (imports resolved from the import root of the linted file: packages, ``src/``
layouts, relative imports), or in the standard library and the installed packages of the active
environment (their source files, read the same way). "Blocks" propagates through the call graph
depth-first with a bound on depth and on the modules read; a function on a cycle being explored
counts as not blocking for that path only. A call reported by an ASL2xx rule itself is left to that
rule. Library functions that touch the disk or network but are not a problem where they are called
from (lazy one-time setup, cached lookups) are listed in :data:`NOT_BLOCKING` with the reason.

Files read are recorded with :mod:`asynclint.deps`, so a cached result is used again only while the
helper modules it depends on are unchanged.
"""
from __future__ import annotations

import ast
import builtins
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from asynclint import deps
from asynclint.gate import blocking_tables

if TYPE_CHECKING:
    from asynclint.config import Config

#: how many calls deep a chain is followed from the coroutine's call
MAX_DEPTH = 6
#: how many calls deep a chain may go inside libraries (the standard library, installed packages)
MAX_LIBRARY_DEPTH = 3
#: modules summarised per process (beyond it, unresolved calls count as not blocking)
MAX_MODULES = 2000

#: library functions whose blocking work is not a problem where code calls them, or that the
#: summaries would misread: qualified name -> why
NOT_BLOCKING: dict[str, str] = {
    "logging.getLogger": "a dictionary lookup after the first call",
    "logging.basicConfig": "one-time setup at start-up",
    "warnings.warn": "writes a warning to stderr once per location",
    "mimetypes.guess_type": "reads the system's MIME tables once per process, then answers from memory",
    "mimetypes.guess_extension": "as guess_type",
    "locale.getpreferredencoding": "reads the environment, not files",
    "platform.system": "cached after the first call",
    "platform.machine": "cached after the first call",
    "importlib.metadata.version": "reads one small metadata file; usually at start-up",
    "inspect.getsource": "debugging and introspection, not request paths",
    "traceback.format_exc": "reads source lines for the report; on error paths only",
    "traceback.print_exc": "as format_exc",
    "tempfile.gettempdir": "cached after the first call",
}

#: library modules whose file reads are a debugger's or a traceback's (source lines, cached by
#: ``linecache``), not a request path's
NOT_BLOCKING_MODULES: dict[str, str] = {
    "inspect": "reads source files for introspection and debug pages",
    "linecache": "a cache of source lines for tracebacks",
    "traceback": "formats tracebacks; error paths only",
    "platform": "caches what it finds about the machine; its commands run only on other platforms",
    # the event loop's own libraries: their sync functions schedule work, they do not wait for it
    **{name: "the async library itself: its sync functions schedule, they do not wait" for name in ("asyncio", "trio", "anyio")},
    # computation in memory: not read at all (they are large, and coroutines call them all the time)
    **{
        name: "computation in memory"
        for name in (
            "typing", "typing_extensions", "collections", "functools", "itertools", "operator", "re", "json", "base64",
            "binascii", "hashlib", "hmac", "html", "ipaddress", "random", "weakref", "_weakrefset", "contextlib",
            "contextvars", "copy", "dataclasses", "enum", "abc", "types", "string", "textwrap", "struct", "datetime",
            "decimal", "fractions", "numbers", "math", "statistics", "heapq", "bisect", "urllib.parse", "email.utils",
            "http.cookies", "http", "warnings", "reprlib", "pprint", "keyword", "token", "tokenize",
        )
    },
}
#: blocking calls that end no chain: importing a module that is already imported is a dictionary
#: lookup, and helpers import lazily once (a backend, a session engine, an extension)
NOT_CHAIN_ENDS = frozenset({"importlib.import_module"})
_CACHES = frozenset({"lru_cache", "cache", "cached_property"})

_BUILTINS = frozenset(dir(builtins))


#: tests on a function's parameters, each with the way it must go (see :func:`_condition`)
Conditions = tuple[tuple[tuple, bool], ...]


@dataclass
class Function:
    """One sync function or method of a module."""

    line: int
    #: its parameters, in order (``self`` included), and the kinds of their literal defaults
    params: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    #: the first blocking call of its own body: (how it is shown, its line, the tests on parameters
    #: it runs under: ``if fileobj is None: fileobj = open(...)`` opens a file only when the caller
    #: passes no file object)
    direct: tuple[str, int, Conditions] | None = None
    #: the calls of its own body: (reference, line, how it is shown, arguments, conditions); a
    #: reference is ``.name`` / ``.Class.method`` for this module's functions, else a dotted name
    #: through the imports; arguments are (positional kinds, keyword -> kind), see :func:`_kind`
    calls: list[tuple[str, int, str, tuple[tuple[str, ...], dict[str, str]], Conditions]] = field(default_factory=list)
    #: memoised (``functools.lru_cache``, ``functools.cache``): it does its work once
    cached: bool = False


@dataclass
class Module:
    name: str
    path: str
    functions: dict[str, Function] = field(default_factory=dict)
    #: module-level name -> what it was imported as (``read_config`` -> ``pkg.storage.read_config``)
    imports: dict[str, str] = field(default_factory=dict)
    classes: set[str] = field(default_factory=set)
    library: bool = False
    #: names the module binds at module level other than by import (assignments, ``async def``s)
    bound: set[str] = field(default_factory=set)
    #: module-level names bound once to a call (``DB = sqlite3.connect(...)``): name -> callee as written
    instances: dict[str, str] = field(default_factory=dict)
    #: per class, attributes set once to a call in its methods (``self.conn = sqlite3.connect(...)``)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One call of a chain: how it is shown, and where it is."""

    shown: str
    path: str
    line: int


# -- names ---------------------------------------------------------------------------------------


def _dotted(expr: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def absolute_module(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from`` import names, relative levels resolved against ``package``."""
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    if node.level > 1:
        parts = parts[: max(len(parts) - (node.level - 1), 0)]
    base = ".".join(parts)
    if node.module:
        base = f"{base}.{node.module}" if base else node.module
    return base


def _add_imports(node: ast.Import | ast.ImportFrom, package: str, into: dict[str, str]) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                into[alias.asname] = alias.name
            else:
                head = alias.name.split(".", 1)[0]
                into[head] = head
        return
    base = absolute_module(node, package)
    for alias in node.names:
        if alias.name != "*":
            into[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name


_OWN: dict[int, tuple[ast.AST, list[ast.AST]]] = {}


def _own(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """:func:`_own_nodes` of a function's body, walked once per function while its module is
    summarised (the function is kept with the list, so that its id is not reused meanwhile)."""
    found = _OWN.get(id(func))
    if found is None or found[0] is not func:
        found = _OWN[id(func)] = (func, list(_own_nodes(func.body)))
    return found[1]


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of a function body, without the bodies of nested functions, lambdas and classes
    (their decorators and defaults, which run here, included)."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend([*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.ClassDef):
            stack.extend([*node.decorator_list, *node.bases, *node.keywords])
        else:
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef, package: str) -> tuple[set[str], dict[str, str], dict[str, str]]:
    """(names the function binds, its own imports, locals bound once to a call: name -> callee)."""
    args = func.args
    bound = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    bound |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    imports: dict[str, str] = {}
    built: dict[str, str] = {}
    counts: dict[str, int] = {}
    for node in _own(func):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            _add_imports(node, package, imports)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Call):
                callee = _dotted(node.value.func)
                if callee is not None:
                    built[node.targets[0].id] = callee
        elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
            if isinstance(node.context_expr, ast.Call):
                callee = _dotted(node.context_expr.func)
                if callee is not None:
                    built[node.optional_vars.id] = callee
    # a parameter rebound to an object (``if fh is None: fh = open(p)``) may hold the caller's
    params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    built = {k: v for k, v in built.items() if counts.get(k, 0) == 1 and k not in params}
    return bound, imports, built


class _Names:
    """Resolves the callee of a call in one function of one module."""

    def __init__(
        self, module: Module, module_bound: set[str], func: ast.FunctionDef | ast.AsyncFunctionDef, cls: str | None, package: str, qual: str = ""
    ) -> None:
        self.module = module
        self.module_bound = module_bound
        self.bound, self.imports, self.built = _local_names(func, package)
        params = [*func.args.posonlyargs, *func.args.args]
        decorators = {_dotted(d) for d in func.decorator_list}
        self.cls = cls
        self.self_name = params[0].arg if cls is not None and params and "staticmethod" not in decorators else None
        #: sync functions defined in this one's body, called by name here: name -> their summary's key
        self.nested = {n.name: f"{qual}.<locals>.{n.name}" for n in _nested_defs(func)} if qual else {}

    def qualified(self, dotted: str) -> str | None:
        """The qualified name of a dotted expression through the imports (``builtins.open`` for a
        builtin nothing rebinds), or None for a local value."""
        root, _, rest = dotted.partition(".")
        target = self.imports.get(root)
        if target is None and root not in self.bound:
            target = self.module.imports.get(root)
            if target is None and root not in self.module_bound and root in _BUILTINS:
                target = f"builtins.{root}"
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def instance(self, expr: ast.expr) -> str | None:
        """``requests.Session`` for ``s`` bound once to ``requests.Session()``, or for the call itself."""
        if isinstance(expr, ast.Call):
            callee = _dotted(expr.func)
            return self.qualified(callee) if callee is not None else None
        if isinstance(expr, ast.Name):
            if expr.id in self.built:
                return self.qualified(self.built[expr.id])
            if expr.id not in self.bound and expr.id in self.module.instances:
                return self.qualified(self.module.instances[expr.id])
        if (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and self.self_name is not None
            and expr.value.id == self.self_name
            and self.cls is not None
        ):
            callee = self.module.attributes.get(self.cls, {}).get(expr.attr)
            if callee is not None:
                return self.qualified(callee)
        return None

    def reference(self, func: ast.expr) -> str | None:
        """A reference to the function a call runs: ``.f``, ``.C.m``, or a dotted name."""
        dotted = _dotted(func)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        if self.self_name is not None and root == self.self_name and rest and "." not in rest:
            return f".{self.cls}.{rest}"
        if root in self.nested and not rest:
            return f".{self.nested[root]}"
        if root in self.bound or root in self.imports:
            return self.qualified(dotted)
        if root in self.module.functions and not rest:
            return f".{root}"
        if root in self.module.classes and "." not in rest:
            return f".{root}.{rest or '__init__'}"
        return self.qualified(dotted)


def _blocking_call(names: _Names, call: ast.Call, config: Config | None) -> str | None:
    """How a call that an ASL2xx table names is shown (``time.sleep``, ``requests.Session().get``)."""
    tables = blocking_tables()
    dotted = _dotted(call.func)
    if dotted is not None:
        qualified = names.qualified(dotted)
        if qualified is not None:
            extra = config.extra_blocking_calls if config is not None else {}
            if qualified in tables["calls"] or qualified in extra:
                return qualified.removeprefix("builtins.")
    if isinstance(call.func, ast.Attribute):
        ctor = names.instance(call.func.value)
        spec = tables["methods"].get(ctor) if ctor is not None else None
        if spec is not None and ctor is not None:
            method = call.func.attr
            if method in spec["methods"] or (
                spec["any"] and not method.startswith("_") and not (spec["local"] and re.fullmatch(spec["local"], method))
            ):
                return f"{ctor.removeprefix('builtins.')}().{method}"
    return None


# -- summaries -----------------------------------------------------------------------------------


def summarise(tree: ast.Module, name: str, path: str, package: str, config: Config | None = None, library: bool = False) -> Module:
    module = Module(name=name, path=path, library=library)
    module_bound: set[str] = set()
    defs: list[tuple[ast.FunctionDef, str | None, str]] = []
    outer: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = []
    counts: dict[str, int] = {}
    for stmt in _module_level(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            _add_imports(stmt, package, module.imports)
        elif isinstance(stmt, ast.FunctionDef):
            module.functions[stmt.name] = _function(stmt)
            defs.append((stmt, None, stmt.name))
            outer.append((stmt, stmt.name))
        elif isinstance(stmt, ast.AsyncFunctionDef):
            module_bound.add(stmt.name)
            outer.append((stmt, stmt.name))
        elif isinstance(stmt, ast.ClassDef):
            module.classes.add(stmt.name)
            module.attributes[stmt.name] = _attributes(stmt)
            for item in _module_level(stmt.body):
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    qual = f"{stmt.name}.{item.name}"
                    outer.append((item, qual))
                if isinstance(item, ast.FunctionDef):
                    module.functions[qual] = _function(item)
                    defs.append((item, stmt.name, qual))
        else:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                callee = _dotted(stmt.value.func) if isinstance(stmt.value, ast.Call) else None
                if callee is not None:
                    module.instances[stmt.targets[0].id] = callee
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    module_bound.add(node.id)
                    counts[node.id] = counts.get(node.id, 0) + 1
    module_bound -= set(module.imports)
    module.bound = module_bound
    module.instances = {k: v for k, v in module.instances.items() if counts.get(k) == 1}
    # sync functions defined in a function's body (called by name there): summarised as its locals
    for func, qual in outer:
        for inner in _nested_defs(func):
            key = f"{qual}.<locals>.{inner.name}"
            module.functions[key] = _function(inner)
            defs.append((inner, None, key))
    for func, cls, qual in defs:
        summary = module.functions[qual]
        names = _Names(module, module_bound, func, cls, package, qual)
        params = set(summary.params)
        nodes = _own(func)
        # tests on parameters only matter in a function that has both
        conditions = _conditions(func.body, params) if params and any(isinstance(n, ast.If) for n in nodes) else {}
        for node in nodes:
            if not isinstance(node, ast.Call):
                continue
            shown = _blocking_call(names, node, config)
            if shown is not None:
                here = conditions.get(id(node), ())
                if shown not in NOT_CHAIN_ENDS and (summary.direct is None or (summary.direct[2] and not here)):
                    summary.direct = (shown, node.lineno, here)
                continue
            ref = names.reference(node.func)
            if ref is not None:
                args = _arguments(node, params)
                summary.calls.append((ref, node.lineno, _dotted(node.func) or ref, args, conditions.get(id(node), ())))
    _OWN.clear()
    return module


def _nested_defs(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.FunctionDef]:
    """The sync functions a function's own body defines (not those of nested bodies), each name
    defined once."""
    found = [n for n in _own(func) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    names = [n.name for n in found]
    return [n for n in found if isinstance(n, ast.FunctionDef) and names.count(n.name) == 1]


def _attributes(cls: ast.ClassDef) -> dict[str, str]:
    """``self.NAME = callee(...)`` in the class's methods, for attributes set once in them."""
    found: dict[str, str] = {}
    counts: dict[str, int] = {}
    for item in cls.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) or not item.args.args:
            continue
        me = item.args.args[0].arg
        for node in _own(item):
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets, value = [node.target], node.value
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == me:
                    counts[target.attr] = counts.get(target.attr, 0) + 1
                    callee = _dotted(value.func) if isinstance(value, ast.Call) else None
                    if callee is not None and len(targets) == 1:
                        found[target.attr] = callee
    return {k: v for k, v in found.items() if counts.get(k) == 1}


def _function(func: ast.FunctionDef) -> Function:
    args = func.args
    decorators = {(_dotted(d.func if isinstance(d, ast.Call) else d) or "").rpartition(".")[2] for d in func.decorator_list}
    positional = [*args.posonlyargs, *args.args]
    params = tuple(a.arg for a in (*positional, *args.kwonlyargs))
    defaults = {a.arg: _value(d) for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults)}
    defaults.update({a.arg: _value(d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    if "staticmethod" in decorators:
        params = ("", *params)  # called like a method, with nothing passed for the blank
    return Function(func.lineno, params=params, cached=bool(decorators & _CACHES), defaults=defaults)


def _arguments(call: ast.Call, params: set[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    keywords = {k.arg: _kind(k.value, params) for k in call.keywords if k.arg}
    if any(k.arg is None for k in call.keywords):
        keywords["**"] = "*"
    return tuple(_kind(a, params) for a in call.args), keywords


def _kind(arg: ast.expr, params: set[str]) -> str:
    """What a call passes, as :func:`_value` and :func:`_evaluate` know values: ``param:NAME``
    (the caller's own parameter), ``*`` (unpacked: unknown), or a value kind."""
    if isinstance(arg, ast.Starred):
        return "*"
    if isinstance(arg, ast.Name) and arg.id in params:
        return f"param:{arg.id}"
    return _value(arg)


def _value(expr: ast.expr | None) -> str:
    """``none``, ``falsy`` (``False``, ``0``, ``""``), ``true`` (another literal), ``str`` (a string
    or f-string: a path), ``obj`` (any other object: passing one where a path is also accepted is
    taken to pass the object, not a path), ``unk``."""
    if expr is None:
        return "unk"
    if isinstance(expr, ast.JoinedStr):
        return "str"
    if isinstance(expr, ast.Constant):
        if expr.value is None:
            return "none"
        if isinstance(expr.value, (str, bytes)):
            return "str" if expr.value else "falsy"
        return "true" if expr.value else "falsy"
    return "obj"


_PATH_TYPES = frozenset({"str", "bytes", "Path", "PurePath", "PosixPath", "WindowsPath", "PathLike"})


def _condition(expr: ast.expr, params: set[str]) -> tuple:
    """A test on the parameters as a small serialisable tree (``("?",)`` for what is not one):
    ``("name", p)`` truthiness, ``("isnone", p)``, ``("isinst", p, pathlike)``, ``("hasattr", p)``,
    ``("not", c)``, ``("and", cs)``, ``("or", cs)``."""
    if isinstance(expr, ast.Name):
        return ("name", expr.id) if expr.id in params else ("?",)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return ("not", _condition(expr.operand, params))
    if isinstance(expr, ast.BoolOp):
        return ("and" if isinstance(expr.op, ast.And) else "or", tuple(_condition(v, params) for v in expr.values))
    if (
        isinstance(expr, ast.Compare)
        and len(expr.ops) == 1
        and isinstance(expr.left, ast.Name)
        and expr.left.id in params
        and isinstance(expr.comparators[0], ast.Constant)
        and expr.comparators[0].value is None
    ):
        if isinstance(expr.ops[0], ast.Is):
            return ("isnone", expr.left.id)
        if isinstance(expr.ops[0], ast.IsNot):
            return ("not", ("isnone", expr.left.id))
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.args
        and isinstance(expr.args[0], ast.Name)
        and expr.args[0].id in params
    ):
        param = expr.args[0].id
        if expr.func.id == "isinstance" and len(expr.args) == 2:
            types = {n.attr if isinstance(n, ast.Attribute) else n.id for n in ast.walk(expr.args[1]) if isinstance(n, (ast.Name, ast.Attribute))}
            return ("isinst", param, bool(types & _PATH_TYPES))
        if expr.func.id == "hasattr":
            return ("hasattr", param)
    return ("?",)


def _mentions(cond: tuple) -> bool:
    kind = cond[0]
    if kind in ("not",):
        return _mentions(cond[1])
    if kind in ("and", "or"):
        return any(_mentions(c) for c in cond[1])
    return kind != "?"


def _atom(kind: str, value: str, pathlike: bool = False) -> bool | None:
    if value == "unk":
        return None
    if kind == "name":
        # a variable passed for a flag may be anything; an object passed for a file is one
        return None if value == "obj" else value not in ("none", "falsy")
    if kind == "isnone":
        return value == "none"
    if kind == "isinst":
        if value == "str":
            return pathlike
        if value == "obj":
            return not pathlike
        return False if value == "none" else None
    if kind == "hasattr":
        return value == "obj" if value in ("str", "obj", "none") else None
    return None


def _partial(cond: tuple, values: dict[str, object]) -> object:
    """``cond`` with the parameters' values put in: True, False, or what is left of it (the
    parameters passed on as the caller's own renamed to those)."""
    kind = cond[0]
    if kind == "?":
        return cond
    if kind in ("name", "isnone", "isinst", "hasattr"):
        value = values.get(cond[1], "unk")
        if isinstance(value, tuple):
            return (kind, value[1], *cond[2:])
        decided = _atom(kind, str(value), bool(cond[2]) if kind == "isinst" else False)
        return ("?",) if decided is None else decided
    if kind == "not":
        inner = _partial(cond[1], values)
        return (not inner) if isinstance(inner, bool) else ("not", inner)
    parts = [_partial(c, values) for c in cond[1]]
    if kind == "and":
        if any(p is False for p in parts):
            return False
        rest = tuple(p for p in parts if p is not True)
        return ("and", rest) if rest else True
    if any(p is True for p in parts):
        return True
    rest = tuple(p for p in parts if p is not False)
    return ("or", rest) if rest else False


def _conditions(body: list[ast.stmt], params: set[str]) -> dict[int, tuple[tuple[tuple, bool], ...]]:
    """For each call of a function body under an ``if`` that tests a parameter (or after one that
    returns or raises): the tests and which way each must go for the call to run."""
    out: dict[int, tuple[tuple[tuple, bool], ...]] = {}

    def visit(stmts: list[ast.stmt], conds: tuple[tuple[tuple, bool], ...]) -> None:
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(stmt, ast.If):
                test = _condition(stmt.test, params)
                mentions = _mentions(test)
                record(stmt.test, conds)
                visit(stmt.body, conds + ((test, True),) if mentions else conds)
                visit(stmt.orelse, conds + ((test, False),) if mentions else conds)
                if mentions and not stmt.orelse and stmt.body and isinstance(stmt.body[-1], (ast.Return, ast.Raise)):
                    conds = conds + ((test, False),)  # ``if fh is not None: return ...``: the rest runs otherwise
                continue
            nested = [getattr(stmt, f, None) for f in ("body", "orelse", "finalbody")]
            handlers = getattr(stmt, "handlers", None) or []
            heads = [n for n in ast.iter_child_nodes(stmt) if not isinstance(n, (ast.stmt, ast.excepthandler))]
            for head in heads:
                record(head, conds)
            for block in nested:
                if isinstance(block, list):
                    visit(block, conds)
            for handler in handlers:
                visit(handler.body, conds)

    def record(node: ast.AST, conds: tuple[tuple[tuple, bool], ...]) -> None:
        if conds:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call):
                    out[id(sub)] = conds

    visit(body, ())
    return out


def _passed(function: Function, param: str, args: tuple[tuple[str, ...], dict[str, str]], bound: bool) -> str:
    """What a call gives ``function``'s parameter ``param`` (its default when nothing is passed)."""
    positional, keywords = args
    if param in keywords:
        return keywords[param]
    params = function.params[1:] if bound else function.params
    if param in params:
        index = params.index(param)
        if index < len(positional) and "*" not in positional[: index + 1]:
            return positional[index]
    if "*" in positional or "*" in keywords.values():
        return "*"
    return function.defaults.get(param, "unk")


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a module or class body, with those under ``if``/``try`` (``if TYPE_CHECKING``,
    ``try: import x``) included."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            taken = _platform_test(stmt.test)
            if taken is not False:
                yield from _module_level(stmt.body)
            if taken is not True:
                yield from _module_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _module_level(stmt.body)
            for handler in stmt.handlers:
                yield from _module_level(handler.body)
            yield from _module_level(stmt.orelse)
            yield from _module_level(stmt.finalbody)
        else:
            yield stmt


def _platform_test(test: ast.expr) -> bool | None:
    """The value of ``sys.platform == "darwin"``, ``sys.platform.startswith("win")``, ``os.name ==
    "nt"`` (or their negations) on this machine: a library's functions for another platform are
    not this one's. None for any other test."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _platform_test(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant):
        actual = {"sys.platform": sys.platform, "os.name": os.name}.get(_dotted(test.left) or "")
        expected = test.comparators[0].value
        if actual is None or not isinstance(expected, str):
            return None
        if isinstance(test.ops[0], ast.Eq):
            return actual == expected
        if isinstance(test.ops[0], ast.NotEq):
            return actual != expected
        return None
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Attribute)
        and test.func.attr == "startswith"
        and _dotted(test.func.value) == "sys.platform"
        and len(test.args) == 1
        and isinstance(test.args[0], ast.Constant)
        and isinstance(test.args[0].value, str)
    ):
        return sys.platform.startswith(test.args[0].value)
    return None


# -- the project and the libraries ---------------------------------------------------------------

_summaries: dict[tuple[str, deps.Signature, bool], Module | None] = {}
_files: dict[tuple[str, str], str | None] = {}


def import_root(path: Path) -> tuple[Path, str]:
    """(the folder imports resolve from, the module's dotted name)."""
    path = path.resolve()
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def _find(base: Path, module: str) -> str | None:
    target = base.joinpath(*module.split("."))
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return str(candidate)
    return None


def _library_roots() -> list[Path]:
    here = os.getcwd()
    return [Path(p) for p in sys.path if p and os.path.abspath(p) != here and os.path.isdir(p)]


class Index:
    """The modules one linted file can reach: its project's, then the libraries'."""

    def __init__(self, path: str, config: Config | None) -> None:
        self.config = config
        self.root, self.name = import_root(Path(path)) if path else (Path.cwd(), "")
        self.library_roots = _library_roots()

    def locate(self, module: str) -> tuple[str, bool] | None:
        """(the file of ``module``, whether it is a library's)."""
        key = (str(self.root), module)
        if key not in _files:
            found = _find(self.root, module)
            _files[key] = found
            deps.record(self.root.joinpath(*module.split(".")).with_suffix(".py"))
        found = _files[key]
        if found is not None:
            return found, False
        lkey = ("", module)
        if lkey not in _files:
            _files[lkey] = next((f for f in (_find(r, module) for r in self.library_roots) if f), None)
        found = _files[lkey]
        return (found, True) if found is not None else None

    def module(self, name: str) -> Module | None:
        if _not_followed(name):
            return None
        located = self.locate(name)
        if located is None:
            return None
        path, library = located
        deps.record(path)  # a library upgraded in place changes what blocks too
        key = (path, deps.signature(path), library)
        if key not in _summaries:
            if len(_summaries) >= MAX_MODULES:
                return None
            _summaries[key] = _summarise_file(path, name, library, self.config)
        return _summaries[key]

    def resolve(self, ref: str, here: Module, hops: int = 0) -> tuple[Module, str] | None:
        """The module and qualified name of the function ``ref`` names, seen from ``here``."""
        if ref.startswith("."):
            return (here, ref[1:]) if ref[1:] in here.functions else None
        if hops > 4:
            return None
        parts = ref.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = self.module(".".join(parts[:i]))
            if module is None:
                continue
            rest = parts[i:]
            qual = ".".join(rest)
            if qual in module.functions:
                return module, qual
            if len(rest) == 1 and rest[0] in module.classes and f"{rest[0]}.__init__" in module.functions:
                return module, f"{rest[0]}.__init__"
            target = module.imports.get(rest[0])
            if target is not None and target != ref:
                # a name the module imports (a package re-exporting its submodule's function)
                return self.resolve(".".join([target, *rest[1:]]), module, hops + 1)
            return None
        return None


#: bumped when :class:`Module` or what goes into it changes (stored summaries are then not used)
SUMMARY_FORMAT = 3
#: where summaries are kept between runs (see :func:`use_store`); None: in this process only
_store: Path | None = None


def use_store(folder: Path | None) -> None:
    """Keep module summaries in ``folder`` (the result cache's folder: ``summaries/`` in it), one
    file per module content, or in this process only (None, ``--no-cache``)."""
    global _store
    _store = folder / "summaries" if folder is not None else None


def _summarise_file(path: str, name: str, library: bool, config: Config | None) -> Module | None:
    try:
        with open(path, "rb") as fh:
            source = fh.read()
    except OSError:
        return None
    entry: Path | None = None
    if _store is not None:
        entry = _store / f"{_store_key(source, name, library, config)}.pickle"
        loaded = _load(entry)
        if isinstance(loaded, Module):
            loaded.path = path  # the same bytes at another path (a copy of a package) summarise alike
            return loaded
    try:
        tree = ast.parse(source, path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    package = name if Path(path).stem == "__init__" else name.rpartition(".")[0]
    module = summarise(tree, name, path, package, config, library)
    if entry is not None:
        _save(entry, module)
    return module


def _store_key(source: bytes, name: str, library: bool, config: Config | None) -> str:
    """Content-addressed: the bytes, and everything else a summary depends on (the module's name
    resolves its relative imports; the configured blocking calls and the platform decide what
    blocks). Keyed with the user's secret like the result cache: a summary file that came with a
    repository is never opened (pickle runs code)."""
    from asynclint import cache

    extra = sorted(config.extra_blocking_calls) if config is not None else []
    context = repr((SUMMARY_FORMAT, cache.code_fingerprint(), sys.version_info[:2], sys.platform, os.name, name, library, extra))
    return cache.content_hash(cache.secret() + context.encode() + b"\0" + source)


def _load(entry: Path) -> object:
    import pickle

    try:
        with open(entry, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # noqa: BLE001 - missing, unreadable or corrupt: summarise again
        return None


def _save(entry: Path, module: Module) -> None:
    import pickle
    import tempfile

    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        top = entry.parent.parent
        if not (top / ".gitignore").exists():
            (top / ".gitignore").write_text("# created by asynclint\n*\n")
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(module, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except OSError:
        pass  # a read-only tree: the summary is computed again next time


# -- chains --------------------------------------------------------------------------------------


class Chains:
    """Whether functions block, and through which calls; memoised for one linted file."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.memo: dict[tuple[str, str], tuple[list[Step], Conditions] | None] = {}
        self.active: set[tuple[str, str]] = set()
        self.cut = False

    def through(
        self, callee: Module, qual: str, args: tuple[tuple[str, ...], dict[str, str]], bound: bool, depth: int, library_depth: int
    ) -> tuple[list[Step], Conditions] | None:
        """The chain of a call of ``callee.qual`` with ``args``, and the tests on the caller's own
        parameters it still depends on; None when the arguments rule the blocking branch out
        (``GzipFile(fileobj=buffer)`` opens no file)."""
        found = self.of(callee, qual, depth, library_depth)
        if found is None:
            return None
        chain, conditions = found
        if not conditions:
            return chain, ()
        remaining = _apply(callee.functions[qual], conditions, args, bound)
        return None if remaining is None else (chain, remaining)

    def of(self, module: Module, qual: str, depth: int = 0, library_depth: int = 0) -> tuple[list[Step], Conditions] | None:
        """The chain from ``module.qual`` to a blocking call (its calls, then the blocking call) and
        the tests on ``qual``'s parameters it runs under (an unconditional chain preferred), or None."""
        key = (module.path, qual)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.cut = True
            return None
        if depth > MAX_DEPTH or (module.library and library_depth > MAX_LIBRARY_DEPTH):
            self.cut = True
            return None
        # by name, not only in libraries: linting the standard library makes ``traceback`` a project module
        if f"{module.name}.{qual}" in NOT_BLOCKING or _not_followed(module.name):
            self.memo[key] = None
            return None
        function = module.functions.get(qual)
        if function is None or function.cached:
            return None
        found: tuple[list[Step], Conditions] | None = None
        if function.direct is not None:
            shown, line, conditions = function.direct
            found = [Step(f"{shown}()", module.path, line)], conditions
        cut_here = False
        if found is None or found[1]:
            self.active.add(key)
            cut_before, self.cut = self.cut, False
            for ref, line, shown, args, conditions in function.calls:
                target = self.index.resolve(ref, module)
                if target is None:
                    continue
                callee, callee_qual = target
                inner = self.through(
                    callee, callee_qual, args, _bound(ref, callee_qual), depth + 1, library_depth + (1 if callee.library else 0)
                )
                if inner is None:
                    continue
                candidate = [Step(f"{shown}()", module.path, line), *inner[0]], conditions + inner[1]
                if found is None or (found[1] and not candidate[1]):
                    found = candidate
                if not found[1]:
                    break
            self.active.discard(key)
            cut_here = self.cut
            self.cut = cut_before or cut_here
        if cut_here and (found is None or found[1]):
            return found  # a cycle or a bound cut this search short: not final, not memoised
        self.memo[key] = found
        return found


def _parameters(cond: tuple) -> Iterator[str]:
    kind = cond[0]
    if kind == "not":
        yield from _parameters(cond[1])
    elif kind in ("and", "or"):
        for c in cond[1]:
            yield from _parameters(c)
    elif kind != "?":
        yield cond[1]


def _apply(function: Function, conditions: Conditions, args: tuple[tuple[str, ...], dict[str, str]], bound: bool) -> Conditions | None:
    """``conditions`` on ``function``'s parameters, for a call with ``args``: None when one of
    them cannot hold, else the tests left over on the caller's parameters."""
    values: dict[str, object] = {}
    for cond, _ in conditions:
        for param in _parameters(cond):
            passed = _passed(function, param, args, bound)
            values[param] = ("ref", passed[len("param:"):]) if passed.startswith("param:") else ("unk" if passed == "*" else passed)
    out: list[tuple[tuple, bool]] = []
    for cond, expected in conditions:
        result = _partial(cond, values)
        if isinstance(result, bool):
            if result != expected:
                return None
        elif isinstance(result, tuple) and _mentions(result):
            out.append((result, expected))
    return tuple(out)


def _not_followed(module: str) -> bool:
    """A module of :data:`NOT_BLOCKING_MODULES` (or a submodule of one)."""
    parts = module.split(".")
    return any(".".join(parts[:i]) in NOT_BLOCKING_MODULES for i in range(1, len(parts) + 1))


def _bound(ref: str, qual: str) -> bool:
    """The call passes the first parameter implicitly: a method (``self.m()``, ``Class()`` running
    ``__init__``, ``Class.m()`` of a class method); a static method's summary has a blank first
    parameter for it (:func:`_function`)."""
    return "." in qual


@dataclass(frozen=True)
class Finding:
    """A call in a coroutine body to a sync function that blocks: where, and the chain."""

    coroutine: str  # the enclosing functions and classes, dotted
    callee: str  # the call's callee as written (``storage.read_config``)
    #: which of the coroutine's calls of that callee, in source order (0 for the first)
    index: int
    line: int
    chain: tuple[Step, ...]


def coroutine_findings(tree: ast.Module, path: str, config: Config | None = None) -> list[Finding]:
    """ASL290's findings for one module: each call in a coroutine body (not awaited, not an
    ASL2xx call itself) to a sync function that blocks, with the chain to the blocking call."""
    index = Index(path, config)
    package = index.name if Path(path).stem == "__init__" else index.name.rpartition(".")[0]
    me = summarise(tree, index.name, path, package, config)
    chains = Chains(index)
    out: list[Finding] = []
    for func, owner, cls in _coroutines(tree):
        names = _Names(me, me.bound, func, cls, package, owner)
        nodes = _own(func)
        awaited = {id(n.value) for n in nodes if isinstance(n, ast.Await)}
        calls = sorted((n for n in nodes if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
        seen: dict[str, int] = {}
        for node in calls:
            written = _dotted(node.func)
            nth = 0
            if written is not None:
                nth = seen[written] = seen.get(written, -1) + 1
            if id(node) in awaited:
                continue
            if _blocking_call(names, node, config) is not None:
                continue  # an ASL2xx call: that rule reports it
            ref = names.reference(node.func)
            if ref is None:
                continue
            target = index.resolve(ref, me)
            if target is None:
                continue
            callee, qual = target
            params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
            found = chains.through(callee, qual, _arguments(node, params), _bound(ref, qual), 1, 1 if callee.library else 0)
            # still depending on the coroutine's own parameters (a path or a file object?): not told
            if found is not None and not found[1]:
                shown = written or ref
                out.append(Finding(owner, shown, nth, node.lineno, (Step(f"{shown}()", path, node.lineno), *found[0])))
    _OWN.clear()
    return out


def _coroutines(tree: ast.Module) -> Iterator[tuple[ast.AsyncFunctionDef, str, str | None]]:
    """Every ``async def`` of the module: (it, its dotted owner path, its class when a method)."""
    stack: list[tuple[ast.AST, str, str | None]] = [(tree, "", None)]
    while stack:
        node, prefix, cls = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.AsyncFunctionDef):
                qual = f"{prefix}{child.name}"
                yield child, qual, cls
                stack.append((child, f"{qual}.", None))
            elif isinstance(child, ast.FunctionDef):
                stack.append((child, f"{prefix}{child.name}.", None))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, f"{prefix}{child.name}.", child.name))
            else:
                stack.append((child, prefix, cls))


def describe(chain: tuple[Step, ...], linted: str) -> str:
    """``load() -> read_config() -> open() at settings.py:12`` (the place is the blocking call's)."""
    last = chain[-1]
    project = import_root(Path(linted))[0] if linted else None
    where = None
    if project is None or not _inside(last.path, project):
        where = _short_library_path(last.path)
    if where is None:
        try:
            where = os.path.relpath(last.path, os.path.dirname(os.path.abspath(linted)) or ".")
        except ValueError:
            where = last.path
    return " -> ".join(step.shown for step in chain) + f" at {Path(where).as_posix()}:{last.line}"


def _inside(path: str, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder)
        return True
    except (ValueError, OSError):
        return False


def _short_library_path(path: str) -> str | None:
    """``ssl.py`` or ``pytz/__init__.py``: a library file from its import root (None for a file
    of no library)."""
    for root in sorted(_library_roots(), key=lambda p: -len(str(p))):
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            continue
    return None
