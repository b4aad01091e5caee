"""ASL300 shared-file-write: a threaded function opens a fixed path for writing without a lock."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

import libcst as cst

from asynclint.rule import Example, Fix, ImportSpec, Safety
from asynclint.semantics import project
from asynclint.semantics.file_access import Access, accesses
from asynclint.semantics.threads import ThreadedRule, Threads, facts, statement_text

if TYPE_CHECKING:
    from asynclint.config import Config


class SharedFileWrite(ThreadedRule):
    """Checks for a threaded function that opens a shared path for writing or appending with no
    lock held: `open(PATH, "w"/"a"/"x"/"+")`, `Path(PATH).write_text(...)`/`write_bytes(...)`,
    `Path(PATH).open("a")`, where PATH is the same on every call (a literal, a module-level
    constant, `Path`/`os.path.join` of those, an environment variable). One write per append
    is not flagged: `with open(PATH, "a") as f:` (or `"ab"`/`"at"`, positional or `mode=`, or
    `Path(PATH).open("a")`) whose body is the single statement `f.write(...)`.

    A function that reads the same file before writing it (`open(PATH)`, `PATH.read_text()`,
    `os.path.exists(PATH)`, `PATH.exists()`: read-modify-write and check-then-act) has one race
    from the first read to the last write: it is reported once, at the last write, naming both
    ends, and only a lock held across all of them (one `with LOCK:` around the read and the
    writes) makes it safe; a lock around the write alone does not. A call of a sync helper of the
    same module counts as the read or write its own body makes (`data = load()` ... `save(data)`);
    the helper's own write is then left to that finding (its lock covers the call). Once some
    callers call the helper under a lock and others do not, the fix takes that same lock around the
    other calls instead of a new lock inside the helper (which would deadlock under the first, or
    fail to exclude them).

    Every writer of one file must take the same lock: a write under one lock while another
    threaded function of the module writes the file under a different one is reported (at the later
    of them, no fix). The same holds across the modules of one program (modules that import each
    other, or that one module of the project imports together): the fix imports the lock another
    module already holds around the file (`from orders import AUDIT_LOCK`), or, when none holds one
    yet, the lock the first of them by module name creates; a write under a lock different from
    the other module's is reported. See docs/concurrency.md.

    See ASL302 for what makes a function threaded and what counts as a lock.

    ## Why is this bad?
    Every call of a handler that the framework runs on a thread pool can run at the same time as
    another. Two writers of the same file interleave their lines, and `"w"` truncates what the
    other thread is writing, so records are lost or corrupted. Per-call paths (f-strings with
    variables, `tempfile`, `uuid`), reads, devices (`/dev/null`), and writes under a lock (a
    `threading.Lock` or a `filelock.FileLock`) are not flagged. Nor is a single write per
    append-mode open: the file is opened with `O_APPEND`, the one buffered write reaches the OS as
    one `write()` at close (when it fits the buffer), and the OS puts each `O_APPEND` write at the
    end of the file in one piece, so concurrent callers add whole records and never truncate.
    Several writes, a loop of writes, `writelines`, `"a+"`, an explicit `buffering=` and the
    one-liner `open(PATH, "a").write(x)` (whose close and flush wait for the garbage collector)
    are still flagged.

    ## Fix safety
    The fix is unsafe: it wraps the statement (the whole `with open(...)` block), or for a
    read-modify-write every statement from the one holding the first read to the one holding the
    last write (a `with <lock>:` of the same lock among them is opened up), in `with <lock>:`, reusing a module-level lock the module already holds around the same path,
    else adding `_<stem>_lock = threading.Lock()` named after the file (`_records_lock` for
    `records.txt`) and `import threading` when missing. A lock only serialises threads of one
    process: several worker processes (`FUNCTIONS_WORKER_PROCESS_COUNT`, gunicorn `--workers`)
    need a file lock or a per-process file.

    ## Options
    `thread-entrypoints` and `lock-names`, as for ASL302.
    """

    code = "ASL300"
    gate = "threads-write"
    slug = "shared-file-write"
    fix_safety = Safety.UNSAFE
    message = (
        "`{call}` writes the shared file {path} in `{func}()`, which {why}: concurrent calls interleave "
        "or truncate each other's writes; hold a lock around it (`with {lock}:`) or write to a per-call path{also}"
    )
    rmw_message = (
        "`{read}` at line {read_line} and `{call}` at line {line} read and write back the shared file {path} in `{func}()`, "
        "which {why}: concurrent calls read the same old contents and each write back their own, so "
        "updates are lost and readers see half-written files; hold one lock from the read to the last "
        "write (`with {lock}:`){also}"
    )
    conflict_message = (
        "`{call}` writes the shared file {path} in `{func}()` under `{lock}`, but {others} under "
        "`{other}`: two different locks do not exclude each other, so concurrent calls still interleave or "
        "lose writes; take one lock in every function that writes it"
    )
    examples = (
        Example(
            """
            from flask import Flask, request

            app = Flask(__name__)

            @app.post("/records")
            def add_record():
                with open("records.txt", "a") as fh:  # ASL300
                    fh.write(request.get_data(as_text=True))
                    fh.write("\\n")
                return "ok"
            """,
            fixed="""
            from flask import Flask, request
            import threading

            _records_lock = threading.Lock()

            app = Flask(__name__)

            @app.post("/records")
            def add_record():
                with _records_lock:
                    with open("records.txt", "a") as fh:  # ASL300
                        fh.write(request.get_data(as_text=True))
                        fh.write("\\n")
                return "ok"
            """,
        ),
        Example(
            """
            import tempfile
            from flask import Flask, request

            app = Flask(__name__)

            @app.post("/upload/<name>")
            def upload(name):
                with open(f"uploads/{name}.bin", "wb") as fh:  # a per-call path
                    fh.write(request.get_data())
                with tempfile.NamedTemporaryFile("w", delete=False) as tmp:
                    tmp.write("scratch")
                with open("uploads.log", "a") as log:  # one write per append: lands whole
                    log.write(f"{name}\\n")
                with open("settings.json") as fh:  # a read
                    return fh.read()
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = self.ctx.current_function
        if func is None or func.asynchronous is not None:
            return
        mine = next((a for a in self._index().get(id(func), ()) if a.call is node), None)
        if mine is not None and mine.kind != "write":
            return  # a read, or one append per open (the OS lands it whole)
        path = mine.path if mine is not None else None
        direct = path is not None
        if path is None:
            # a call of a helper of this module that writes a shared file: the end of a
            # read-modify-write in this function when it read the file first (load() ... save())
            helper = self._helper_writes(node, func)
            if helper is None:
                return
            path = helper
        threads = facts(self.ctx)
        why = threads.threaded(func)
        if why is None:
            return
        ok, literal = threads.constant_path(path)
        if not ok or _is_device(literal):
            return
        state = path.value if isinstance(path, cst.Name) else None
        stem = PurePath(literal).stem if literal and PurePath(literal).stem else None
        base = stem or state or "file"
        reads, writes = self._accesses(threads, func, path, literal)
        if reads:
            # a read-modify-write: one race from the first read to the last write, reported once
            if node is not writes[-1]:
                return
            span = [*reads, *writes]
            if threads.locked_together(span):
                self._check_conflict(threads, node, func, path, literal)
                return
            lock, create, fixable = threads.lock_name(state, literal, base, func)
            lock, create, fixable, spec, also = self._across_modules(threads, literal, lock, create, fixable)
            fix = None
            if fixable:
                fix = threads.lock_span_fix(span, lock, create, f"Hold `{lock}` from the read to the last write")
            text = self.rmw_message.format(
                read=statement_text(self.ctx, reads[0], 40),
                read_line=threads.line(reads[0]),
                call=statement_text(self.ctx, node, 40),
                line=threads.line(node),
                path=f"`{statement_text(self.ctx, path, 50)}`",
                func=threads.display(func),
                why=threads.describe(why),
                lock=lock,
                also=also,
            )
            self._record(literal, lock, fix)
            self.ctx.add_finding(self, node, text, _importing(fix, spec))
            return
        if not direct:
            return
        if threads.locked(node):
            self._check_conflict(threads, node, func, path, literal)
            return
        if self._in_callers_span(threads, func, path, literal):
            return
        lock, create, fixable = threads.lock_name(state, literal, base, func)
        lock, create, fixable, spec, also = self._across_modules(threads, literal, lock, create, fixable)
        fix = threads.lock_fix(node, lock, create, f"Hold `{lock}` around the write") if fixable else None
        fix = _importing(fix, spec)
        callers_lock = self._callers_lock(threads, func)
        if callers_lock is not None:
            # some callers already call this helper under a lock: the others take the same one
            lock, fix = callers_lock
        self._record(literal, lock, fix)
        self.report(
            node,
            fix=fix,
            call=statement_text(self.ctx, node, 50),
            path=f"`{statement_text(self.ctx, path, 50)}`",
            func=threads.display(func),
            why=threads.describe(why),
            lock=lock,
            also=also,
        )

    def _across_modules(
        self, threads: Threads, literal: str | None, lock: str, create: bool, fixable: bool
    ) -> tuple[str, bool, bool, ImportSpec | None, str]:
        """The lock the other modules of the project that write the same file hold, or will hold
        after their own fix, so that every writer in the process takes one lock.

        Returns (lock, create, fixable, the import that brings a lock of another module in, a note
        for the message). A lock another module already holds around its writes is imported from
        it; when no writer holds one yet, the first module by name whose own fix creates one owns
        it and the others import it. A module that imports this one gets no import back from it
        (a cycle at import time): no fix then."""
        if literal is None:
            return lock, create, fixable, None, ""
        others = project.writers(self.ctx.path, literal)
        if not others:
            return lock, create, fixable, None, ""
        me = project.module_of(self.ctx.path)
        where = _where(others)
        locked = [w for w in others if w.lock]
        if not create:
            # this module already guards the file with its own lock elsewhere
            if locked and not any(self._same_lock(lock, w) for w in locked):
                note = f"; {_where(locked)} {_verb(locked)} it under `{locked[0].lock}`: take one lock in every module"
                return lock, False, False, None, note
            return lock, create, fixable, None, f"; {where} {_verb(others)} it too: they take the same lock"
        name: str | None = None
        origin: str | None = None
        if locked:
            origin = locked[0].lock
        else:
            # nobody holds a lock yet: the first module by name whose fix creates one owns it
            for writer in others:
                if writer.module >= me:
                    break
                name = _lock_created_by(writer.path, literal, self.ctx.config)
                if name is not None:
                    origin = f"{writer.module}.{name}"
                    break
        if origin is None:
            return lock, create, fixable, None, f"; {where} {_verb(others)} it too: if it runs on a thread, it must take this same lock"
        module, _, name = origin.rpartition(".")
        note = f"; {where} {_verb(others)} it too: take the same lock, `{origin}`"
        if origin in self._imported().get(name, set()):
            return name, False, fixable, None, note  # imported here already
        path = project.module_path(self.ctx.path, module)
        if path is None or project.namespace_folder(self.ctx.path):
            # modules of a folder without __init__.py that import each other relatively: their
            # import names cannot be told from here
            return name, False, False, None, note + " (a package without __init__.py: no fix)"
        # ``import orders`` and ``with orders._counts_lock:``, not ``from orders import ...``: the
        # module imports each other in a cycle often (a Flask app and its route modules), and a
        # plain import of a half-initialised module works where ``from ... import`` fails; the
        # lock is looked up when the function runs, after every module has been imported
        top = module.split(".")[0]
        if top in threads.module_names() and f"{module}" not in self._plain_imports():
            return name, False, False, None, note + f" (`{top}` is another name in this module: no fix)"
        return f"{module}.{name}", False, fixable, ImportSpec(module), note

    def _record(self, literal: str | None, lock: str, fix: Fix | None) -> None:
        """Tell a lint of another module (see _lock_created_by) that this module's fix creates
        ``lock`` for the file: only when the fix that is offered really defines it."""
        if literal is not None and fix is not None and any(p.startswith(f"{lock} = ") for p in fix.prelude):
            project.record_created(self.ctx.path, literal, lock)

    def _plain_imports(self) -> set[str]:
        """The modules this module imports with a plain module-level ``import m`` (no alias)."""
        out: set[str] = set()
        for stmt in self.ctx.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        out |= {a.evaluated_name for a in small.names if a.asname is None}
        return out

    def _same_lock(self, lock: str, writer: project.Writer) -> bool:
        """``lock`` of this module is ``writer``'s lock."""
        return writer.lock == self._lock_id(lock)

    def _lock_id(self, lock: str) -> str:
        """A lock name of this module as ``module.NAME`` (where an imported one comes from)."""
        if "." in lock and lock.rsplit(".", 1)[0] in self._plain_imports():
            return lock  # ``orders._counts_lock``
        imported = self._imported().get(lock)
        if imported:
            return sorted(imported)[0]
        return f"{project.module_of(self.ctx.path)}.{lock}"

    def _imported(self) -> dict[str, set[str]]:
        """Module-level ``from m import x`` of this module: local name -> absolute ``m.x``."""

        def build() -> dict[str, set[str]]:
            me = project.module_of(self.ctx.path) if self.ctx.path else ""
            package = me.rpartition(".")[0] if not self.ctx.path.endswith("__init__.py") else me
            out: dict[str, set[str]] = {}
            for stmt in self.ctx.module.body:
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                        continue
                    level = len(small.relative)
                    base = cst.helpers.get_full_name_for_node(small.module) if small.module is not None else ""
                    if level:
                        parts = package.split(".") if package else []
                        parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
                        base = ".".join([*parts, *([base] if base else [])])
                    for alias in small.names:
                        local = alias.evaluated_alias or alias.evaluated_name
                        out.setdefault(local, set()).add(f"{base}.{alias.evaluated_name}")
            return out

        return self.ctx.memo("asl300.imported", build)  # type: ignore[return-value]

    def _check_conflict(
        self, threads: Threads, node: cst.Call, func: cst.FunctionDef, path: cst.BaseExpression, literal: str | None
    ) -> None:
        """A write held under one lock while another writer of the same file holds a different
        one: reported at the later writer (in this module, the later in source order; across
        modules, the one whose module name sorts after)."""
        mine = threads.lock_names_around(node)
        if not mine:
            return  # an instance lock or acquire(): not compared
        key = literal if literal is not None else statement_text(self.ctx, path, 10**6)
        index = self._index()
        for call, owner in threads.calls:
            if call is node:
                break
            if owner is func or not isinstance(owner, cst.FunctionDef) or threads.threaded(owner) is None:
                continue
            access = next((a for a in index.get(id(owner), ()) if a.call is call), None)
            if access is None or access.kind != "write" or not self._same_file(threads, access.path, key, literal):
                continue
            theirs = threads.lock_names_around(call)
            if not theirs:
                continue
            # the first locked writer's lock is the one to keep; later writers are compared to it
            if not theirs & mine:
                others = f"`{threads.display(owner)}()` writes it at line {threads.line(call)}"
                self._report_conflict(threads, node, func, path, sorted(mine)[0], others, sorted(theirs)[0])
            return
        if literal is None:
            return
        locked = [w for w in project.writers(self.ctx.path, literal) if w.lock]
        me = project.module_of(self.ctx.path)
        first = locked[0] if locked else None
        if first is None or first.module > me or any(self._same_lock(lock, first) for lock in mine):
            return  # the first module by name with a lock for it keeps its lock; the others report
        self._report_conflict(threads, node, func, path, sorted(mine)[0], f"{_where([first])} writes it", str(first.lock))

    def _report_conflict(
        self, threads: Threads, node: cst.Call, func: cst.FunctionDef, path: cst.BaseExpression, lock: str, others: str, other: str
    ) -> None:
        text = self.conflict_message.format(
            call=statement_text(self.ctx, node, 40),
            path=f"`{statement_text(self.ctx, path, 50)}`",
            func=threads.display(func),
            lock=lock,
            others=others,
            other=other,
        )
        self.ctx.add_finding(self, node, text, None)

    def _index(self) -> dict[int, list[Access]]:
        return accesses(self.ctx, facts(self.ctx).calls)

    def _calls(self, threads: Threads) -> _CallGraph:
        """The module's calls between its sync functions, resolved once per file."""

        def build() -> _CallGraph:
            graph = _CallGraph()
            for call, owner in threads.calls:
                if not isinstance(owner, cst.FunctionDef):
                    continue
                for callee in threads.resolve(call.func, owner, calls=True):
                    if isinstance(callee, cst.FunctionDef) and callee is not owner and callee.asynchronous is None:
                        graph.callers.setdefault(id(callee), []).append((call, owner))
                        graph.callees.setdefault(id(owner), []).append((call, callee))
            return graph

        return self.ctx.memo("asl300.calls", build)  # type: ignore[return-value]

    def _accesses(
        self, threads: Threads, func: cst.FunctionDef, path: cst.BaseExpression, literal: str | None
    ) -> tuple[list[cst.Call], list[cst.Call]]:
        """The calls of ``func`` that read the file at ``path`` before its first write, and the
        calls that write it (single appends aside), in source order; a call of a helper of this
        module counts as the read or write its own body makes."""
        key = literal if literal is not None else statement_text(self.ctx, path, 10**6)
        index = self._index()
        touched = [
            (a.call, a.kind)
            for a in index.get(id(func), ())
            if a.kind != "append" and self._same_file(threads, a.path, key, literal)
        ]
        for call, helper in self._calls(threads).callees.get(id(func), ()):
            kinds = {a.kind for a in self._through(threads, helper) if self._same_file(threads, a.path, key, literal)}
            if "write" in kinds or "read" in kinds:
                touched.append((call, "write" if "write" in kinds else "read"))
        order = {id(call): n for n, (call, _) in enumerate(threads.calls)}
        touched.sort(key=lambda t: order[id(t[0])])
        reads: list[cst.Call] = []
        writes: list[cst.Call] = []
        for call, kind in touched:
            if kind == "write":
                writes.append(call)
            elif not writes:
                reads.append(call)
        # reads before the first write count when a write can follow them (not one in the other
        # arm of an if: `if q: return P.read_text()` / `else: P.write_text(...)`); a read after
        # a write (write, read, write back) is not followed yet
        reads = [r for r in reads if any(not _exclusive(self.ctx, r, w) for w in writes)]
        return reads, writes

    def _through(self, threads: Threads, helper: cst.FunctionDef) -> list[Access]:
        """The file accesses of ``helper`` and of the helpers it calls, at any depth (a call chain
        ``save() -> _dump() -> P.write_text()`` writes in ``save()``); cycles end."""
        memo: dict[int, list[Access]] = self.ctx.memo("asl300.through", dict)  # type: ignore[assignment]
        if id(helper) in memo:
            return memo[id(helper)]
        index = self._index()
        graph = self._calls(threads)
        out: list[Access] = []
        seen = {id(helper)}
        todo = [helper]
        while todo:
            current = todo.pop()
            out.extend(index.get(id(current), ()))
            for _, callee in graph.callees.get(id(current), ()):
                if id(callee) not in seen:
                    seen.add(id(callee))
                    todo.append(callee)
        memo[id(helper)] = out
        return out

    def _helper_writes(self, call: cst.Call, owner: cst.FunctionDef) -> cst.BaseExpression | None:
        """The file a call of a helper of this module writes (in its body or its own helpers')."""
        for site, helper in self._calls(facts(self.ctx)).callees.get(id(owner), ()):
            if site is call:
                for access in self._through(facts(self.ctx), helper):
                    if access.kind == "write":
                        return access.path
        return None

    def _callers_lock(self, threads: Threads, func: cst.FunctionDef) -> tuple[str, Fix | None] | None:
        """When some callers of ``func`` call it holding one module-level lock and others hold
        none: that lock, and a fix taking it around each unlocked call (a lock inside ``func``
        would deadlock under the callers that hold one, and a second lock would not exclude them)."""
        locked_names: set[str] = set()
        unlocked: list[cst.Call] = []
        for call, owner in self._calls(threads).callers.get(id(func), ()):
            if threads.locked(call):
                locked_names |= threads.lock_names_around(call)
            elif threads.threaded(owner) is not None:
                if owner in threads.called_locked:
                    return None  # its own callers may hold the lock already
                unlocked.append(call)
        if len(locked_names) != 1 or not unlocked:
            return None
        lock = locked_names.pop()
        replacements: list = []
        for call in unlocked:
            one = threads.lock_fix(call, lock, False, "")
            if one is None:
                return lock, None
            replacements.extend(one.replacements)
        title = f"Hold `{lock}` around the calls of `{threads.display(func)}()` that do not hold it"
        return lock, Fix(title, Safety.UNSAFE, replacements)

    def _in_callers_span(
        self, threads: Threads, func: cst.FunctionDef, path: cst.BaseExpression, literal: str | None
    ) -> bool:
        """Some caller of ``func`` reads the same file before calling it, with no lock across both:
        that caller's read-modify-write finding takes one lock around the whole span, this call
        included, and a second fix taking the lock inside ``func`` in the same round would
        deadlock. Once the span is locked, ``func``'s write is judged on its other callers."""
        graph = self._calls(threads)
        seen = {id(func)}
        todo = [func]
        while todo:
            # every caller up the chain: history() -> _save() -> _dump() puts _dump()'s write in
            # history()'s span
            for call, owner in graph.callers.get(id(todo.pop()), ()):
                reads, writes = self._accesses(threads, owner, path, literal)
                if reads and call in writes and not threads.locked_together([*reads, *writes]):
                    return True
                if id(owner) not in seen:
                    seen.add(id(owner))
                    todo.append(owner)
        return False

    def _same_file(self, threads: Threads, expr: cst.BaseExpression, key: str, literal: str | None) -> bool:
        if literal is not None:
            ok, other = threads.constant_path(expr)
            return ok and other == literal
        return statement_text(self.ctx, expr, 10**6) == key


def _where(writers: list[project.Writer]) -> str:
    shown = [f"`{w.module}.{w.function}()` ({w.path.name}:{w.line})" for w in writers[:2]]
    more = f" and {len(writers) - 2} more" if len(writers) > 2 else ""
    return " and ".join(shown) + more


def _verb(writers: list[project.Writer]) -> str:
    return "writes" if len(writers) == 1 else "write"


def _importing(fix: Fix | None, spec: ImportSpec | None) -> Fix | None:
    """``fix`` that also imports the lock of another module."""
    if fix is None or spec is None:
        return fix
    return replace(fix, imports=(*fix.imports, spec))


_nested_done: set[str] = set()


def _lock_created_by(path: Path, literal: str, config: Config) -> str | None:
    """The lock the fix of the module at ``path`` creates for the file ``literal``, from a lint of
    that module on its own (once per process)."""
    key = str(path.resolve())
    if key not in _nested_done:
        _nested_done.add(key)
        from asynclint.engine import lint_bytes

        try:
            data = path.read_bytes()
        except OSError:
            return None
        with project.nested():
            lint_bytes(data, str(path), config, [SharedFileWrite])
    return project.created(path, literal)


def _is_device(literal: str | None) -> bool:
    """``/dev/null``, ``/dev/stdout``, ``NUL``: writes from many threads lose nothing."""
    return literal is not None and (literal.startswith("/dev/") or literal.lower() in ("nul", "nul:"))


@dataclass
class _CallGraph:
    #: callee (by id) -> (call, calling function); calling function (by id) -> (call, callee)
    callers: dict[int, list[tuple[cst.Call, cst.FunctionDef]]] = field(default_factory=dict)
    callees: dict[int, list[tuple[cst.Call, cst.FunctionDef]]] = field(default_factory=dict)


def _exclusive(ctx: object, a: cst.CSTNode, b: cst.CSTNode) -> bool:
    """``a`` and ``b`` sit in different arms of one ``if`` (no run reaches both)."""
    parent_of = ctx.parent  # type: ignore[attr-defined]
    arms: dict[int, str] = {}
    child, parent = a, parent_of(a)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Module)):
        if isinstance(parent, cst.If):
            arms[id(parent)] = "body" if child is parent.body else "orelse" if child is parent.orelse else "test"
        child, parent = parent, parent_of(parent)
    child, parent = b, parent_of(b)
    while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Module)):
        if isinstance(parent, cst.If) and id(parent) in arms:
            mine = "body" if child is parent.body else "orelse" if child is parent.orelse else "test"
            if {mine, arms[id(parent)]} == {"body", "orelse"}:
                return True
        child, parent = parent, parent_of(parent)
    return False
