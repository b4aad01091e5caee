"""ASL301 shared-file-handle: a threaded function uses a module-level file object without a lock."""
from __future__ import annotations

import libcst as cst

from asynclint.rule import Example, Safety
from asynclint.semantics.threads import (
    FILE_IO_METHODS,
    ThreadedRule,
    Threads,
    _arg,
    statement_text,
)

#: functions that read or write a file object passed to them: qualified name -> (position, keyword)
_HANDLE_ARGS = {
    "builtins.print": (None, "file"),
    "builtins.next": (0, None),
    "json.dump": (1, "fp"),
    "json.load": (0, "fp"),
    "pickle.dump": (1, "file"),
    "pickle.load": (0, "file"),
    "shutil.copyfileobj": (1, "fdst"),
}
_WRITER_METHODS = frozenset({"writerow", "writerows", "writeheader"})


class SharedFileHandle(ThreadedRule):
    """Checks for a threaded function that reads, writes, seeks, truncates or flushes a module-level
    file object (a name bound to `open(...)` at import time, or a `csv.writer` on one) with no lock
    held: `LOG.write(...)`, `print(..., file=LOG)`, `json.dump(obj, LOG)`, `for line in FH:`.

    See ASL302 for what makes a function threaded and what counts as a lock.

    ## Why is this bad?
    A file object is not thread-safe: its buffer and its position are shared by every thread.
    Concurrent writes interleave or get lost in the buffer, and concurrent reads and seeks move
    the position under each other. Uses under a lock, and uses at import time, are not flagged.

    ## Fix safety
    The fix is unsafe: it wraps the statement in `with <lock>:`, reusing a module-level lock the
    module already holds around the same file object, else adding `_<name>_lock =
    threading.Lock()` (`_log_lock` for `LOG`) and `import threading` when missing.

    ## Options
    `thread-entrypoints` and `lock-names`, as for ASL302.
    """

    code = "ASL301"
    gate = "threads-handle"
    slug = "shared-file-handle"
    fix_safety = Safety.UNSAFE
    message = (
        "`{call}` uses the module-level file object `{name}` in `{func}()`, which {why}: a file object is "
        "not thread-safe and its position is shared, so data interleaves or is lost; hold a lock around "
        "every use (`with {lock}:`) or open the file per call"
    )
    examples = (
        Example(
            """
            import threading

            LOG = open("events.log", "a")

            def record(event):
                LOG.write(f"{event}\\n")  # ASL301
                LOG.flush()  # ASL301

            for name in ("a", "b"):
                threading.Thread(target=record, args=(name,)).start()
            """,
            fixed="""
            import threading

            _log_lock = threading.Lock()

            LOG = open("events.log", "a")

            def record(event):
                with _log_lock:
                    LOG.write(f"{event}\\n")  # ASL301
                    LOG.flush()  # ASL301

            for name in ("a", "b"):
                threading.Thread(target=record, args=(name,)).start()
            """,
        ),
        Example(
            """
            import threading

            LOG = open("events.log", "a")
            LOG.write("started\\n")  # import time: one thread
            LOG_LOCK = threading.Lock()

            def record(event):
                with LOG_LOCK:
                    LOG.write(f"{event}\\n")

            threading.Thread(target=record, args=("a",)).start()
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        handle = self._handle_of(node)
        if handle is not None:
            self._check(node, node, handle)

    def visit_For(self, node: cst.For) -> None:
        self._check(node.iter, node, node.iter)

    def _handle_of(self, call: cst.CSTNode) -> cst.BaseExpression | None:
        """The file object a call reads or writes (``LOG`` in ``LOG.write(...)``, ``print(file=LOG)``)."""
        if not isinstance(call, cst.Call):
            return None
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in FILE_IO_METHODS | _WRITER_METHODS:
            return func.value
        for name in self.ctx.qualified_names(func):
            spec = _HANDLE_ARGS.get(name)
            if spec is not None:
                return _arg(call, spec[0], *(k for k in (spec[1],) if k))
        return None

    def _check(self, report_node: cst.CSTNode, stmt_node: cst.CSTNode, handle: cst.BaseExpression) -> None:
        if not isinstance(handle, cst.Name):
            return
        found = self.threaded_here(stmt_node)
        if found is None:
            return
        threads: Threads = found[0]
        if not threads.module_file(handle):
            return
        _, func, why = found
        lock, create, fixable = threads.lock_name(handle.value, None, handle.value, func)

        def same_handle(line: cst.SimpleStatementLine) -> bool:
            for small in line.body:
                used = self._handle_of(small.value) if isinstance(small, cst.Expr) else None
                if not (isinstance(used, cst.Name) and used.value == handle.value):
                    return False
            return True

        fix = None
        if fixable:
            fix = threads.lock_fix(report_node, lock, create, f"Hold `{lock}` around the file object", group=same_handle)
        self.report(
            report_node,
            fix=fix,
            call=statement_text(self.ctx, report_node, 50) if isinstance(report_node, cst.Call) else f"for ... in {handle.value}",
            name=handle.value,
            func=threads.display(func),
            why=threads.describe(why),
            lock=lock,
        )
