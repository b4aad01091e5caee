"""ASL300 shared-file-write: a threaded function opens a fixed path for writing without a lock."""
from __future__ import annotations

from pathlib import PurePath

import libcst as cst

from asynclint.rule import Example, Safety
from asynclint.semantics.threads import OPENERS, ThreadedRule, _arg, statement_text

_WRITE_MODE_CHARS = frozenset("wax+")
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_APPEND_ONLY_MODES = frozenset({"a", "ab", "ba", "at", "ta"})


class SharedFileWrite(ThreadedRule):
    """Checks for a threaded function that opens a shared path for writing or appending with no
    lock held: `open(PATH, "w"/"a"/"x"/"+")`, `Path(PATH).write_text(...)`/`write_bytes(...)`,
    `Path(PATH).open("a")`, where PATH is the same on every call (a literal, a module-level
    constant, `Path`/`os.path.join` of those, an environment variable). One write per append
    is not flagged: `with open(PATH, "a") as f:` (or `"ab"`/`"at"`, positional or `mode=`, or
    `Path(PATH).open("a")`) whose body is the single statement `f.write(...)`.

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
    The fix is unsafe: it wraps the statement (the whole `with open(...)` block) in
    `with <lock>:`, reusing a module-level lock the module already holds around the same path,
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
        path = self._written_path(node)
        if path is None or self._single_append(node):
            return
        found = self.threaded_here(node)
        if found is None:
            return
        threads, func, why = found
        ok, literal = threads.constant_path(path)
        if not ok or _is_device(literal):
            return
        state = path.value if isinstance(path, cst.Name) else None
        stem = PurePath(literal).stem if literal and PurePath(literal).stem else None
        base = stem or state or "file"
        lock, create, fixable = threads.lock_name(state, literal, base, func)
        fix = threads.lock_fix(node, lock, create, f"Hold `{lock}` around the write") if fixable else None
        self.report(
            node,
            fix=fix,
            call=statement_text(self.ctx, node, 50),
            path=f"`{statement_text(self.ctx, path, 50)}`",
            func=threads.display(func),
            why=threads.describe(why),
            lock=lock,
        )

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
