"""The other modules of the project, for what one module alone cannot settle: which lock guards a
file that several modules write (ASL300).

Every thread of a process that writes one file must take the same lock, whichever module it runs
in; a lock per module excludes nothing. This module finds, cheaply and without libcst, the
functions of the project's other modules that write a file named by the same literal, and the
module-level lock (if any) each holds around the write.

The project is the import root of the linted file: the folder above its outermost package (the
folder itself for a flat layout such as ``app.py`` next to ``store.py``), its ``.py`` files and
its packages. A module is named as ``import`` would name it from that root. Files are read and
summarised with :mod:`ast` once per process (keyed by path, size and mtime), and only files whose
bytes contain the literal are parsed at all.
"""
from __future__ import annotations

import ast
import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asynclint import deps
from asynclint.callgraph import absolute_module as _absolute
from asynclint.callgraph import import_root

#: a project bigger than this is not scanned (a linted file under ``/`` or a home folder)
MAX_FILES = 3000
_SKIP_DIRS = frozenset({".git", ".hg", ".tox", ".nox", ".venv", "venv", "node_modules", "__pycache__", "site-packages"})
_LOCK_CALLS = frozenset({"Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "FileLock", "SoftFileLock"})
_WRITE_MODE_CHARS = frozenset("wax+")
_OPENERS = frozenset({"open", "io.open", "codecs.open"})


@dataclass(frozen=True)
class Writer:
    """A function of another module that writes a file whose path mentions the literal."""

    module: str  # dotted, as imported from the project root
    path: Path
    function: str
    line: int
    lock: str | None  # the module-level lock held around the write, if any, as ``module.NAME``


@dataclass
class _Summary:
    #: (literals, function, line, lock as ``module.NAME``)
    writes: list[tuple[frozenset[str], str, int, str | None]] = field(default_factory=list)
    #: module-level ``name = callee(...)`` -> the callee's dotted name through the imports
    constructors: dict[str, str] = field(default_factory=dict)


_files_cache: dict[Path, tuple[Path, ...]] = {}
_summary_cache: dict[tuple[Path, int, int], _Summary | None] = {}
#: set while a module is linted on behalf of another (no project lookups from there)
_nested = False
#: (file, literal) -> the lock a nested lint of that file would create for it
_created: dict[tuple[str, str], str] = {}


def project_files(root: Path) -> tuple[Path, ...]:
    """The ``.py`` files of the root folder and of the packages under it (at most MAX_FILES)."""
    cached = _files_cache.get(root)
    if cached is not None:
        return cached
    out: list[Path] = []
    folders: list[Path] = []
    todo = [root]
    while todo and len(out) <= MAX_FILES:
        folder = todo.pop()
        folders.append(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIP_DIRS:
                continue
            if entry.name.endswith(".py") and entry.is_file():
                out.append(Path(entry.path))
            elif entry.is_dir() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                todo.append(Path(entry.path))
    result = tuple(out) if len(out) <= MAX_FILES else ()
    _files_cache[root] = result
    _folders_cache[root] = tuple(folders)
    return result


_folders_cache: dict[Path, tuple[Path, ...]] = {}


def _record_project(root: Path) -> None:
    """The current file's result depends on every module of the project and on which exist."""
    files = project_files(root)
    for folder in _folders_cache.get(root, ()):
        deps.record(folder)  # a folder's mtime changes when a module is added or removed
    for path in files:
        deps.record(path)


def writers(linted: str, literal: str) -> list[Writer]:
    """The writers of a file named by ``literal`` in the project's modules other than ``linted``,
    ordered by module name. Empty when ``linted`` is not a file on disk, or during a nested lint."""
    if _nested or not literal or not os.path.isfile(linted):
        return []
    me = Path(linted).resolve()
    root, _ = import_root(me)
    _record_project(root)
    needles = _needles(literal)
    modules = {_module_name(root, path): path for path in project_files(root)}
    # only modules of one program: some module of the project imports both (at any depth), or one
    # imports the other; two scripts side by side share no threads. Those are the modules that
    # the importers of this one import: only they are read for writes
    reach = _imported_closure(root, _importers(root, _module_name(root, me)), modules)
    out: list[Writer] = []
    for module, path in modules.items():
        if path == me or module not in reach:
            continue
        summary = _summary(path, needles)
        if summary is None:
            continue
        for literals, function, line, lock in summary.writes:
            # the same file only when the other path is built from this literal alone
            # (``Path("/srv/a") / "summary.txt"`` is not ``"summary.txt"``)
            if literals == {literal}:
                out.append(Writer(module, path, function, line, lock))
    out.sort(key=lambda w: (w.module, w.line))
    return out


#: the text of import statements (``from x import (a, b)`` across lines, ``import a.b as c``)
_IMPORT_TEXT = re.compile(
    rb"^[ \t]*(?:from[ \t]+[.\w]+[ \t]+import[ \t]*(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)", re.MULTILINE
)
_WORD = re.compile(rb"\w+")
_import_words_cache: dict[tuple[Path, int, int], frozenset[bytes]] = {}


def _import_words(path: Path) -> frozenset[bytes]:
    """Every word of the module's import statements (a cheap scan of its bytes, no parse): a
    module that imports ``pkg.mod`` in any form names ``mod`` there."""
    try:
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        found = _import_words_cache.get(key)
        if found is None:
            data = path.read_bytes()
            found = frozenset(w for m in _IMPORT_TEXT.finditer(data) for w in _WORD.findall(m.group(0)))
            _import_words_cache[key] = found
        return found
    except OSError:
        return frozenset()


_imports_cache: dict[tuple[Path, int, int], tuple[frozenset[str], bool]] = {}


def _imports_of(path: Path) -> tuple[frozenset[str], bool]:
    """(the absolute dotted names the module imports, at any level; whether it imports relatively),
    from its statements alone: cheaper than :func:`_summary`, which also walks every expression."""
    try:
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        found = _imports_cache.get(key)
        if found is not None:
            return found
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset(), False
    package = _package_of(path)
    imports: set[str] = set()
    relative = False
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.Import):
            imports.update(alias.name for alias in stmt.names)
        elif isinstance(stmt, ast.ImportFrom):
            relative = relative or bool(stmt.level)
            base = _absolute(stmt, package)
            if base:
                imports.add(base)
                imports.update(f"{base}.{alias.name}" for alias in stmt.names)
        else:
            for name in ("body", "orelse", "finalbody"):
                block = getattr(stmt, name, None)
                if isinstance(block, list):
                    todo.extend(block)
            for handler in getattr(stmt, "handlers", ()):
                todo.extend(handler.body)
            for case in getattr(stmt, "cases", ()):
                todo.extend(case.body)
    found = (frozenset(imports), relative)
    _imports_cache[key] = found
    return found


def _targets(root: Path, name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that importing module ``name`` runs: its imports and their packages,
    and its own packages' ``__init__``."""
    targets: set[str] = set()
    for imported in _imports_of(path)[0]:
        parts = imported.split(".")
        # ``import pkg.sub.mod`` runs pkg, pkg.sub and pkg.sub.mod
        targets.update(p for p in (".".join(parts[: n + 1]) for n in range(len(parts))) if p in modules)
    parts = name.split(".")
    # a submodule runs its packages' ``__init__`` first
    targets.update(p for p in (".".join(parts[:n]) for n in range(1, len(parts))) if p in modules)
    return targets - {name}


def _imported_closure(root: Path, starts: set[str], modules: dict[str, Path]) -> set[str]:
    """``starts`` and every project module they import, directly or through others."""
    out = set(starts)
    todo = list(starts)
    while todo:
        path = modules.get(todo.pop())
        if path is None:
            continue
        for target in _targets(root, _module_name(root, path), path, modules):
            if target not in out:
                out.add(target)
                todo.append(target)
    return out


def _importers(root: Path, module: str) -> set[str]:
    """``module`` and every project module that imports it, directly or through others. Only the
    modules whose import statements name a module of the chain are parsed (a flat folder of
    1,700 test modules is not summarised whole for one file's question)."""
    modules = {_module_name(root, path): path for path in project_files(root)}
    out = {module}
    todo = [module]
    while todo:
        current = todo.pop()
        short = current.rsplit(".", 1)[-1].encode()
        prefix = current + "."
        for name, path in modules.items():
            if name in out:
                continue
            if not name.startswith(prefix) and short not in _import_words(path):
                continue
            if current in _targets(root, name, path, modules):
                out.add(name)
                todo.append(name)
    return out


def namespace_folder(linted: str) -> bool:
    """The linted module sits at the import root in a folder without ``__init__.py`` whose modules
    import each other relatively (``from .routes import x``): a namespace package, imported under
    a name this module cannot know."""
    path = Path(linted).resolve()
    root, _ = import_root(path)
    if root != path.parent or (root / "__init__.py").exists():
        return False
    return any(_imports_of(p)[1] for p in project_files(root) if p.parent == root)


def module_of(linted: str) -> str:
    return import_root(Path(linted))[1]


def module_path(linted: str, module: str) -> Path | None:
    """The file of project module ``module``, from the import root of ``linted``."""
    root = import_root(Path(linted))[0]
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        deps.record(candidate)
        if candidate.is_file():
            return candidate
    return None


@contextlib.contextmanager
def nested() -> Iterator[None]:
    """Lint another module on behalf of this one: no project lookups from inside."""
    global _nested
    previous, _nested = _nested, True
    try:
        yield
    finally:
        _nested = previous


def record_created(linted: str, literal: str, lock: str) -> None:
    """A nested lint's fix would create ``lock`` for ``literal`` in ``linted``."""
    if _nested:
        _created.setdefault((str(Path(linted).resolve()), literal), lock)


def created(path: Path, literal: str) -> str | None:
    return _created.get((str(path.resolve()), literal))


def constructor_of(linted: str, qualified: str) -> str | None:
    """What builds the project-level name ``qualified`` (``pkg.app.app``, or relative to
    ``linted``'s package as ``.app.app``): the dotted callee of its module-level assignment
    ``app = Flask(__name__)``, through that module's imports (``flask.Flask``); None when it is
    not a project module's call result."""
    if not os.path.isfile(linted):
        return None
    dots = len(qualified) - len(qualified.lstrip("."))
    if dots:
        package = _package_of(Path(linted))
        parts = package.split(".") if package else []
        if dots > 1:
            parts = parts[: len(parts) - (dots - 1)]
        qualified = ".".join([*parts, qualified.lstrip(".")])
    module, _, name = qualified.rpartition(".")
    path = module_path(linted, module) if module else None
    if path is None:
        return None
    deps.record(path)
    summary = _summary(path, (b"",))
    return summary.constructors.get(name) if summary is not None else None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: characters a string literal spells as themselves: a constant made of them alone appears in the
#: source between quotes
_PLAIN = re.compile(r"[A-Za-z0-9_./ :@+=,-]+")


def _needles(literal: str) -> tuple[bytes, ...]:
    """Byte strings one of which a module that has ``literal`` as a string constant must contain:
    the literal between quotes when it has no character an escape could spell differently (a
    short name such as ``"2"`` occurs bare in every module), else the bare literal."""
    if _PLAIN.fullmatch(literal):
        raw = literal.encode("ascii")
        return (b'"' + raw + b'"', b"'" + raw + b"'")
    return (literal.encode("utf-8", "replace"),)


def _summary(path: Path, needles: tuple[bytes, ...]) -> _Summary | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key in _summary_cache:
        return _summary_cache[key]
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not any(needle in data for needle in needles):
        return None  # not cached: another literal may be in it
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        _summary_cache[key] = None
        return None
    summary = _summarise(tree, path)
    _summary_cache[key] = summary
    return summary


def _summarise(tree: ast.Module, path: Path) -> _Summary:
    out = _Summary()
    package = _package_of(path)
    constants: dict[str, ast.expr] = {}
    #: module-level lock names -> ``module.NAME`` (its own, and imported ones named like a lock)
    locks: dict[str, str] = {}
    me = import_root(path)[1]
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom):
            base = _absolute(stmt, package)
            for alias in stmt.names:
                local = alias.asname or alias.name
                if base and _lockish(local):
                    locks[local] = f"{base}.{alias.name}"
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = stmt.value
                    if isinstance(stmt.value, ast.Call) and _terminal(stmt.value.func) in _LOCK_CALLS:
                        locks[target.id] = f"{me}.{target.id}"
    aliases: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(stmt, ast.ImportFrom):
            base = _absolute(stmt, package)
            for alias in stmt.names:
                aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    for local, value in constants.items():
        if isinstance(value, ast.Call):
            dotted = _dotted(value.func)
            if dotted is not None:
                head, _, rest = dotted.partition(".")
                head = aliases.get(head, head)
                out.constructors[local] = f"{head}.{rest}" if rest else head
    def visit(node: ast.AST, function: str | None, held: tuple[str, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function, held = node.name, ()
        elif isinstance(node, ast.With):
            names = tuple(
                locks[i.context_expr.id]
                for i in node.items
                if isinstance(i.context_expr, ast.Name) and i.context_expr.id in locks
            )
            for item in node.items:
                visit(item.context_expr, function, held)
            for stmt in node.body:
                visit(stmt, function, held + names)
            return
        elif isinstance(node, ast.Call) and function is not None:
            target = _written(node)
            if target is not None:
                literals = frozenset(_strings(target, constants, 0))
                if literals:
                    out.writes.append((literals, function, node.lineno, held[-1] if held else None))
        for child in ast.iter_child_nodes(node):
            visit(child, function, held)

    visit(tree, None, ())
    return out


def _written(call: ast.Call) -> ast.expr | None:
    """The path expression when ``call`` writes a file."""
    func = call.func
    dotted = _dotted(func)
    if dotted in _OPENERS:
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        path = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg in ("file", "filename")), None)
        return path if _writes(mode) else None
    if isinstance(func, ast.Attribute):
        if func.attr in ("write_text", "write_bytes"):
            return func.value
        if func.attr == "open":
            mode = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "mode"), None)
            return func.value if _writes(mode) else None
    return None


def _writes(mode: ast.expr | None) -> bool:
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and bool(set(mode.value) & _WRITE_MODE_CHARS)


def _strings(expr: ast.AST, constants: dict[str, ast.expr], depth: int) -> Iterator[str]:
    """The string literals a path expression is built from, through module constants."""
    if depth > 4:
        return
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.Name) and node.id in constants:
            yield from _strings(constants[node.id], constants, depth + 1)


def _lockish(name: str) -> bool:
    words = set(name.lower().strip("_").split("_"))
    return bool(words & {"lock", "rlock", "mutex"}) or name.lower().endswith("lock")


def _terminal(func: ast.expr) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _dotted(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return None


def _package_of(path: Path) -> str:
    root, name = import_root(path)
    return name if path.stem == "__init__" else name.rpartition(".")[0]
