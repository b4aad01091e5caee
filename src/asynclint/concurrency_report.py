"""``asynclint concurrency``: every threaded and async entry point of the linted code, where it is
registered, what runs it and how many at once, the module state and files it writes, the locks
it takes. The view a reviewer wants before reading ASL3xx findings.

    asynclint concurrency [PATH ...] [--output-format text|json]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence, TextIO

import libcst as cst
from libcst.metadata import MetadataWrapper

from asynclint.api import FileError, discover_files, read_file
from asynclint.config import Config, load_config
from asynclint.engine import parse_source
from asynclint.semantics import Context
from asynclint.semantics.file_access import accesses
from asynclint.semantics.frameworks import decorator_registration
from asynclint.semantics.threads import Threads, facts, statement_text

EVENT_LOOP = "the event loop (one thread; a blocking call stalls every request)"


@dataclass
class Entry:
    path: str
    line: int
    function: str
    kind: str  # "threaded" or "async"
    framework: str
    registered: str
    runs_on: str
    at_once: str = ""
    writes_state: list[str] = field(default_factory=list)
    writes_files: list[str] = field(default_factory=list)
    locks: list[str] = field(default_factory=list)


def entries_of(path: str, source: bytes, config: Config) -> list[Entry]:
    """The entry points of one module (none when it does not parse)."""
    try:
        module = parse_source(source)
    except Exception:
        return []
    ctx = Context(MetadataWrapper(module, unsafe_skip_copy=True), path, config, source)
    threads = facts(ctx)
    out: list[Entry] = []
    for func, reg in threads.entries.items():
        if not isinstance(func, cst.FunctionDef):
            continue
        entry = Entry(path, threads.line(func), threads.display(func), "threaded", reg.framework,
                      f"{reg.how} (line {threads.line(reg.node)})", reg.pool, threads.pool_size(reg))
        _touches(threads, func, entry)
        out.append(entry)
    for func in threads.functions:
        if func.asynchronous is None:
            continue
        found = decorator_registration(ctx, func)
        if found is None:
            continue
        entry = Entry(path, threads.line(func), threads.display(func), "async", found.framework,
                      f"{found.how} (line {threads.line(found.node)})", EVENT_LOOP)
        _touches(threads, func, entry)
        out.append(entry)
    return sorted(out, key=lambda e: e.line)


def _touches(threads: Threads, func: cst.FunctionDef, entry: Entry) -> None:
    """The module state and files ``func`` writes and the locks it takes, in its own body (the
    functions it calls are entries' business only when they are entries too)."""
    ctx = threads.ctx
    state: dict[str, None] = {}
    files: dict[str, None] = {}
    locks: dict[str, None] = {}
    todo: list[cst.CSTNode] = [func.body]
    while todo:
        node = todo.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)):
                root = threads.module_state_root(target)
                if root is not None and (not isinstance(target, cst.Name) or _declared_global(func, target.value)):
                    state[root.value] = None
        if isinstance(node, cst.With):
            for item in node.items:
                if threads.is_lock(item.item):
                    locks[" ".join(ctx.module.code_for_node(item.item).split())] = None
        todo.extend(reversed(node.children))
    for access in accesses(ctx, threads.calls).get(id(func), ()):
        if access.kind != "read":
            ok, literal = threads.constant_path(access.path)
            if ok:
                files[literal if literal is not None else statement_text(ctx, access.path, 10**6)] = None
    entry.writes_state = sorted(state)
    entry.writes_files = sorted(files)
    entry.locks = sorted(locks)


def _declared_global(func: cst.FunctionDef, name: str) -> bool:
    todo: list[cst.CSTNode] = [func.body]
    while todo:
        node = todo.pop()
        if isinstance(node, cst.Global) and any(n.name.value == name for n in node.names):
            return True
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            todo.extend(node.children)
    return False


def render_text(entries: list[Entry]) -> str:
    if not entries:
        return "No threaded or async entry points found.\n"
    lines = []
    for e in entries:
        lines.append(f"{e.path}:{e.line}: {e.function}() [{e.kind}] {e.framework} {e.registered}")
        runs = e.runs_on + (f"; {e.at_once}" if e.at_once else "")
        lines.append(f"    runs on: {runs}")
        if e.writes_state:
            lines.append(f"    writes module state: {', '.join(e.writes_state)}")
        if e.writes_files:
            lines.append(f"    writes files: {', '.join(e.writes_files)}")
        lines.append(f"    locks: {', '.join(e.locks) if e.locks else 'none'}")
    threaded = sum(1 for e in entries if e.kind == "threaded")
    lines.append(f"{len(entries)} entry points: {threaded} threaded, {len(entries) - threaded} async.")
    return "\n".join(lines) + "\n"


def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    parser = argparse.ArgumentParser(prog="asynclint concurrency", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    parser.add_argument("--config", type=Path, help="read configuration from this TOML file")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    first = Path(args.paths[0]) if args.paths else Path.cwd()
    config = load_config(args.config, first if first.exists() else Path.cwd())
    entries: list[Entry] = []
    failed = False
    for path in discover_files(args.paths or ["."], config):
        data = read_file(path)
        if isinstance(data, FileError):
            err.write(f"asynclint: {path}: {data.message}\n")
            failed = True
            continue
        entries.extend(entries_of(str(path), data, config))
    if args.output_format == "json":
        out.write(json.dumps([asdict(e) for e in entries], indent=2) + "\n")
    else:
        out.write(render_text(entries))
    return 2 if failed else 0
