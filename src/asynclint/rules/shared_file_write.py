"""ASL300 shared-file-write: a threaded function opens a fixed path for writing without a lock."""
from __future__ import annotations

from pathlib import PurePath

import libcst as cst

from asynclint.rule import Example, Fix, Safety
from asynclint.semantics.threads import (
    OPENERS,
    ThreadedRule,
    Threads,
    _arg,
    facts,
    statement_text,
)

_WRITE_MODE_CHARS = frozenset("wax+")
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_APPEND_ONLY_MODES = frozenset({"a", "ab", "ba", "at", "ta"})
#: ``Path`` methods that read the file or look at it (check-then-act)
_PATH_READERS = frozenset({"read_text", "read_bytes", "open", "exists", "is_file", "stat"})
_PATH_CHECKS = frozenset({"os.path.exists", "os.path.isfile", "os.path.getsize", "os.stat"})


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
        path = self._written_path(node)
        direct = path is not None
        if path is not None and self._single_append(node):
            return
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

    def _accesses(
        self, threads: Threads, func: cst.FunctionDef, path: cst.BaseExpression, literal: str | None
    ) -> tuple[list[cst.Call], list[cst.Call]]:
        """The calls of ``func`` that read the file at ``path`` before its first write, and the
        calls that write it (single appends aside), in source order; a call of a helper of this
        module that reads or writes it counts as a read or a write."""
        key = literal if literal is not None else _text(self.ctx, path)
        reads: list[cst.Call] = []
        writes: list[cst.Call] = []
        for call, owner in threads.calls:
            if owner is not func:
                continue
            written = self._written_path(call)
            if written is not None:
                if self._single_append(call) or not self._same_file(threads, written, key, literal):
                    continue
                writes.append(call)
                continue
            read = self._read_path(call)
            if read is not None:
                if not writes and self._same_file(threads, read, key, literal):
                    reads.append(call)
                continue
            for helper_path, kind in self._helper_accesses(threads, call, func):
                if not self._same_file(threads, helper_path, key, literal):
                    continue
                if kind == "write":
                    writes.append(call)
                elif not writes:
                    reads.append(call)
                break
        if not writes:
            return [], writes
        # reads before the first write count when a write can follow them (not one in the other
        # arm of an if: `if q: return P.read_text()` / `else: P.write_text(...)`); a read after
        # a write (write, read, write back) is not followed yet
        order = {id(call): n for n, (call, _) in enumerate(threads.calls)}
        reads = [
            r for r in reads
            if any(order[id(w)] > order[id(r)] and not _exclusive(self.ctx, r, w) for w in writes)
        ]
        return reads, writes

    def _helper_accesses(
        self, threads: Threads, call: cst.Call, owner: cst.FunctionDef
    ) -> list[tuple[cst.BaseExpression, str]]:
        """For a call of a sync function of this module (not ``owner`` itself): the files its own
        body reads and writes, as (path expression, "read" / "write"); writes first."""
        out: list[tuple[cst.BaseExpression, str]] = []
        for helper in threads.resolve(call.func, owner, calls=True):
            if not isinstance(helper, cst.FunctionDef) or helper is owner or helper.asynchronous is not None:
                continue
            for inner, inner_owner in threads.calls:
                if inner_owner is not helper:
                    continue
                written = self._written_path(inner)
                if written is not None and not self._single_append(inner):
                    out.insert(0, (written, "write"))
                    continue
                read = self._read_path(inner) if written is None else None
                if read is not None:
                    out.append((read, "read"))
        return out

    def _helper_writes(self, call: cst.Call, owner: cst.FunctionDef) -> cst.BaseExpression | None:
        threads = facts(self.ctx)
        for path, kind in self._helper_accesses(threads, call, owner):
            if kind == "write":
                return path
        return None

    def _callers_lock(self, threads: Threads, func: cst.FunctionDef) -> tuple[str, Fix | None] | None:
        """When some callers of ``func`` call it holding one module-level lock and others hold
        none: that lock, and a fix taking it around each unlocked call (a lock inside ``func``
        would deadlock under the callers that hold one, and a second lock would not exclude them)."""
        locked_names: set[str] = set()
        unlocked: list[cst.Call] = []
        for call, owner in threads.calls:
            if not isinstance(owner, cst.FunctionDef) or owner is func:
                continue
            if func not in threads.resolve(call.func, owner, calls=True):
                continue
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
        for call, owner in threads.calls:
            if not isinstance(owner, cst.FunctionDef) or owner is func:
                continue
            if func not in threads.resolve(call.func, owner, calls=True):
                continue
            reads, writes = self._accesses(threads, owner, path, literal)
            if reads and call in writes and not threads.locked_together([*reads, *writes]):
                return True
        return False

    def _same_file(self, threads: Threads, expr: cst.BaseExpression, key: str, literal: str | None) -> bool:
        if literal is not None:
            ok, other = threads.constant_path(expr)
            return ok and other == literal
        return _text(self.ctx, expr) == key

    def _read_path(self, call: cst.Call) -> cst.BaseExpression | None:
        """The path expression when ``call`` reads a file or checks that it exists."""
        func = call.func
        names = self.ctx.qualified_names(func)
        if names & OPENERS:
            return _arg(call, 0, "file", "filename")
        if names & _PATH_CHECKS:
            return _arg(call, 0, "path")
        if isinstance(func, cst.Attribute) and func.attr.value in _PATH_READERS:
            return func.value
        return None

    def _written_path(self, call: cst.Call) -> cst.BaseExpression | None:
        """The path expression when ``call`` opens a file for writing, else None."""
        func = call.func
        if self.ctx.qualified_names(func) & OPENERS:
            mode = _arg(call, 1, "mode")
            return _arg(call, 0, "file", "filename") if _writes(mode) else None
        if isinstance(func, cst.Attribute):
            if func.attr.value in _PATH_WRITERS:
                return func.value
            if func.attr.value == "open" and _writes(_arg(call, 0, "mode")):
                return func.value
        return None

    def _single_append(self, call: cst.Call) -> bool:
        """True for ``with open(PATH, "a") as f: f.write(...)``: one ``O_APPEND`` write per open,
        which the OS appends whole, so concurrent calls neither interleave nor truncate."""
        names = self.ctx.qualified_names(call.func)
        if names & OPENERS:
            # codecs.open(filename, mode, encoding, errors, buffering): buffering comes fifth
            mode, buffering = _arg(call, 1, "mode"), _arg(call, 4 if "codecs.open" in names else 2, "buffering")
        elif isinstance(call.func, cst.Attribute) and call.func.attr.value == "open":
            mode, buffering = _arg(call, 0, "mode"), _arg(call, 1, "buffering")
        else:
            return False
        if buffering is not None or not _appends_only(mode):
            return False
        item = self.ctx.parent(call)
        block = self.ctx.parent(item) if item is not None else None
        if (
            not isinstance(item, cst.WithItem)
            or not isinstance(block, cst.With)
            or len(block.items) != 1
            or item.asname is None
            or not isinstance(item.asname.name, cst.Name)
        ):
            return False
        write = _only_call(block.body)
        return (
            write is not None
            and isinstance(write.func, cst.Attribute)
            and write.func.attr.value == "write"
            and isinstance(write.func.value, cst.Name)
            and write.func.value.value == item.asname.name.value
            and len(write.args) == 1
            and write.args[0].keyword is None
            and not write.args[0].star
        )


def _only_call(body: cst.BaseSuite) -> cst.Call | None:
    """The call when ``body`` is exactly one expression statement that is a call."""
    if isinstance(body, cst.IndentedBlock):
        if len(body.body) != 1 or not isinstance(body.body[0], cst.SimpleStatementLine):
            return None
        smalls = body.body[0].body
    elif isinstance(body, cst.SimpleStatementSuite):
        smalls = body.body
    else:
        return None
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Expr) or not isinstance(smalls[0].value, cst.Call):
        return None
    return smalls[0].value


def _appends_only(mode: cst.BaseExpression | None) -> bool:
    """``"a"``, ``"ab"``, ``"at"``: append without read (``"a+"`` can seek and read back)."""
    if not isinstance(mode, cst.SimpleString):
        return False
    value = mode.evaluated_value
    text = value.decode() if isinstance(value, bytes) else value
    return text in _APPEND_ONLY_MODES


def _is_device(literal: str | None) -> bool:
    """``/dev/null``, ``/dev/stdout``, ``NUL``: writes from many threads lose nothing."""
    return literal is not None and (literal.startswith("/dev/") or literal.lower() in ("nul", "nul:"))


def _writes(mode: cst.BaseExpression | None) -> bool:
    if not isinstance(mode, cst.SimpleString):
        return False
    value = mode.evaluated_value
    text = value.decode() if isinstance(value, bytes) else value
    return bool(set(text) & _WRITE_MODE_CHARS)


def _text(ctx: object, node: cst.CSTNode) -> str:
    return " ".join(ctx.module.code_for_node(node).split())  # type: ignore[attr-defined]


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
