"""ASL290 transitive-blocking-call: a coroutine calls a sync function that blocks further down."""
from __future__ import annotations

import ast
from typing import Any

import libcst as cst
from libcst.helpers import get_full_name_for_node

from asynclint import callgraph
from asynclint.rule import Example, Fix, Rule, Safety
from asynclint.semantics import rewrite
from asynclint.semantics.blocking import classify_call, to_thread_name
from asynclint.specs import COROUTINE_DEF


class TransitiveBlockingCall(Rule):
    """Checks for a call in a coroutine body to a sync function that, directly or through the sync
    functions it calls, makes a blocking call (one an ASL2xx rule reports): in the same module, in
    another module of the project, or inside the standard library or an installed package.

    The message names the chain down to the blocking call and where it is: `load_settings()
    blocks the event loop: load_settings() -> read_config() -> open() at settings.py:12`.

    Calls are resolved through imports (absolute and relative, aliases, packages, `src/` layouts,
    re-exports by a package's `__init__`), the module's functions, functions defined in the
    caller's body, class instantiation (`__init__`), `self.method()` within a class, and objects the
    module builds once (`DB = sqlite3.connect(...)`, `self.conn = ...` set in one method). Modules
    are found from the import root of the linted file, then in the standard library and the
    installed packages of the environment asynclint runs in; each is summarised once from
    CPython's `ast` and kept in the cache folder by content.

    Not flagged: callables passed to `asyncio.to_thread`/`run_in_executor` (not called here), awaited
    calls, calls an ASL2xx rule already reports, helpers that block only in a nested function they
    do not call, helpers whose blocking branch the call's arguments rule out (`if fileobj is None:
    fileobj = open(...)` called with a file object; `if trust_env:` with the default `False`; a
    branch that depends on the coroutine's own parameter is not decided and not reported),
    memoised helpers (`functools.lru_cache`, `functools.cache`), `importlib.import_module` at the
    end of a chain (a module already imported is a dictionary lookup), the `inspect`, `traceback`,
    `linecache` and `platform` modules (debug paths, cached answers) and a few library functions
    listed with their reason in `asynclint.callgraph.NOT_BLOCKING`, and library code for another
    platform. A method of an object of unknown type is not followed.

    ## Why is this bad?
    A blocking call stalls the event loop wherever it is made: hiding it in a helper, a sibling
    module or a library does not move it off the loop. Every other task and request waits.

    ## Fix safety
    The fix is unsafe: it runs the helper on a worker thread with `await asyncio.to_thread(helper,
    ...)` (the module's async library's equivalent, or `run_in_executor` as `fix-style` says). The
    helper then runs concurrently with other tasks, which matters if it touches shared state
    (ASL300-ASL302 then look at it as a threaded function).

    ## Options
    - `extra-blocking-calls`: more names that count as blocking at the end of a chain.
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL290"
    slug = "transitive-blocking-call"
    fix_safety = Safety.UNSAFE
    requires = COROUTINE_DEF
    gate = "helper-calls"
    message = "`{call}` blocks the event loop: {chain}; run it in a worker thread (`await {to_thread}(...)`)"
    examples = (
        Example(
            """
            import time

            def wait_a_bit():
                time.sleep(0.5)

            def refresh(cache):
                wait_a_bit()
                cache.clear()

            async def handler(cache):
                refresh(cache)  # ASL290
            """,
            fixed="""
            import time
            import asyncio

            def wait_a_bit():
                time.sleep(0.5)

            def refresh(cache):
                wait_a_bit()
                cache.clear()

            async def handler(cache):
                await asyncio.to_thread(refresh, cache)  # ASL290
            """,
        ),
        Example(
            """
            import asyncio
            import time

            def wait_a_bit():
                time.sleep(0.5)

            def later():
                def inner():
                    time.sleep(1)  # runs only when called
                return inner

            async def handler():
                await asyncio.to_thread(wait_a_bit)  # on a worker thread: fine
                later()
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        if not ctx.in_coroutine or not isinstance(node.func, (cst.Name, cst.Attribute)):
            return
        callee = get_full_name_for_node(node.func)
        if callee is None:
            return
        # the analysis (on CPython's tree) names each call by its coroutine, its callee as written
        # and how many calls of that callee come before it there
        owner = self._owner()
        counts: dict[tuple[str, str], int] = self.ctx.memo("transitive-blocking-counts", dict)  # type: ignore[assignment]
        index = counts[(owner, callee)] = counts.get((owner, callee), -1) + 1
        if ctx.is_awaited(node):
            return
        found = self._findings().get((owner, callee, index))
        if found is None or classify_call(ctx, node) is not None:
            return
        lib = ctx.library
        fix = None
        if rewrite.can_await_here(ctx):
            replacement, imports = rewrite.thread_wrapper(ctx, node)
            title = f"Run in a worker thread with `await {to_thread_name(lib)}`"
            if lib == "asyncio" and ctx.config.uses_run_in_executor:
                title = "Run in a worker thread with `await loop.run_in_executor(...)`"
            fix = Fix(title, Safety.UNSAFE, [(node, replacement)], imports, adds_await=True)
        self.report(
            node,
            fix=fix,
            call=f"{callee}()",
            chain=callgraph.describe(found.chain, ctx.path),
            to_thread=to_thread_name(lib),
        )

    def _owner(self) -> str:
        names = [owner.name.value for owner, _ in self.ctx.scopes if isinstance(owner, (cst.FunctionDef, cst.ClassDef))]
        return ".".join(names)

    def _findings(self) -> dict[tuple[str, str, int], callgraph.Finding]:
        ctx = self.ctx

        def compute() -> dict[tuple[str, str, int], callgraph.Finding]:
            source = ctx.source or ctx.module.code.encode("utf-8")
            try:
                tree = ast.parse(source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return {}
            out: dict[tuple[str, str, int], Any] = {}
            for finding in callgraph.coroutine_findings(tree, ctx.path, ctx.config):
                out[(finding.coroutine, finding.callee, finding.index)] = finding
            return out

        return ctx.memo("transitive-blocking", compute)  # type: ignore[return-value]
