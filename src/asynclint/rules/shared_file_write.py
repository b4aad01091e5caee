"""ASL300 shared-file-write: a threaded function opens a fixed path for writing without a lock."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

import libcst as cst

from asynclint.rule import Example, Fix, Safety
from asynclint.semantics.file_access import Access, accesses
from asynclint.semantics.threads import ThreadedRule, Threads, facts, statement_text


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
    slug = "shared-file-write"
    fix_safety = Safety.UNSAFE
    message = (
        "`{call}` writes the shared file {path} in `{func}()`, which {why}: concurrent calls interleave "
        "or truncate each other's writes; hold a lock around it (`with {lock}:`) or write to a per-call path"
    )
    rmw_message = (
        "`{read}` at line {read_line} and `{call}` at line {line} read and write back the shared file {path} in `{func}()`, "
        "which {why}: concurrent calls read the same old contents and each write back their own, so "
        "updates are lost and readers see half-written files; hold one lock from the read to the last "
        "write (`with {lock}:`)"
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
                return
            lock, create, fixable = threads.lock_name(state, literal, base, func)
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
            )
            self.ctx.add_finding(self, node, text, fix)
            return
        if not direct or threads.locked(node) or self._in_callers_span(threads, func, path, literal):
            return
        lock, create, fixable = threads.lock_name(state, literal, base, func)
        fix = threads.lock_fix(node, lock, create, f"Hold `{lock}` around the write") if fixable else None
        callers_lock = self._callers_lock(threads, func)
        if callers_lock is not None:
            # some callers already call this helper under a lock: the others take the same one
            lock, fix = callers_lock
        self.report(
            node,
            fix=fix,
            call=statement_text(self.ctx, node, 50),
            path=f"`{statement_text(self.ctx, path, 50)}`",
            func=threads.display(func),
            why=threads.describe(why),
            lock=lock,
        )

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
            kinds = {a.kind for a in index.get(id(helper), ()) if self._same_file(threads, a.path, key, literal)}
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

    def _helper_writes(self, call: cst.Call, owner: cst.FunctionDef) -> cst.BaseExpression | None:
        """The file a call of a helper of this module writes in the helper's own body."""
        index = self._index()
        for site, helper in self._calls(facts(self.ctx)).callees.get(id(owner), ()):
            if site is call:
                for access in index.get(id(helper), ()):
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
        for call, owner in self._calls(threads).callers.get(id(func), ()):
            reads, writes = self._accesses(threads, owner, path, literal)
            if reads and call in writes and not threads.locked_together([*reads, *writes]):
                return True
        return False

    def _same_file(self, threads: Threads, expr: cst.BaseExpression, key: str, literal: str | None) -> bool:
        if literal is not None:
            ok, other = threads.constant_path(expr)
            return ok and other == literal
        return statement_text(self.ctx, expr, 10**6) == key



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
