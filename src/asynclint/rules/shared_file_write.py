"""ASL300 shared-file-write: a threaded function opens a fixed path for writing without a lock."""
from __future__ import annotations

from pathlib import PurePath

import libcst as cst

from asynclint.rule import Example, Safety
from asynclint.semantics.threads import OPENERS, ThreadedRule, _arg, statement_text

_WRITE_MODE_CHARS = frozenset("wax+")
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})


class SharedFileWrite(ThreadedRule):
    """Checks for a threaded function that opens a shared path for writing or appending with no
    lock held: `open(PATH, "w"/"a"/"x"/"+")`, `Path(PATH).write_text(...)`/`write_bytes(...)`,
    `Path(PATH).open("a")`, where PATH is the same on every call (a literal, a module-level
    constant, `Path`/`os.path.join` of those, an environment variable).

    See ASL302 for what makes a function threaded and what counts as a lock.

    ## Why is this bad?
    Every call of a handler that the framework runs on a thread pool can run at the same time as
    another. Two writers of the same file interleave their lines, and `"w"` truncates what the
    other thread is writing, so records are lost or corrupted. Per-call paths (f-strings with
    variables, `tempfile`, `uuid`), reads, devices (`/dev/null`), and writes under a lock (a
    `threading.Lock` or a `filelock.FileLock`) are not flagged.

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
                    fh.write(request.get_data(as_text=True) + "\\n")
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
                        fh.write(request.get_data(as_text=True) + "\\n")
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
                with open("settings.json") as fh:  # a read
                    return fh.read()
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        path = self._written_path(node)
        if path is None:
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


def _is_device(literal: str | None) -> bool:
    """``/dev/null``, ``/dev/stdout``, ``NUL``: writes from many threads lose nothing."""
    return literal is not None and (literal.startswith("/dev/") or literal.lower() in ("nul", "nul:"))


def _writes(mode: cst.BaseExpression | None) -> bool:
    if not isinstance(mode, cst.SimpleString):
        return False
    value = mode.evaluated_value
    text = value.decode() if isinstance(value, bytes) else value
    return bool(set(text) & _WRITE_MODE_CHARS)
