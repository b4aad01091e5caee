"""ASL250 blocking-sync-primitive: waiting on `threading`/`queue`/`concurrent.futures` primitives in a coroutine body."""
from __future__ import annotations

import libcst as cst

from asynclint.rule import Example
from asynclint.semantics.blocking import BlockingCallRule, lock_in_with


class BlockingSyncPrimitive(BlockingCallRule):
    """Checks for waits on thread synchronisation primitives in a coroutine body: `acquire()` or
    `with lock:` on a `threading.Lock/RLock/Semaphore/BoundedSemaphore/Condition`,
    `Event.wait()`, the blocking forms of `queue.Queue.get/put`, `Future.result()` on a
    `concurrent.futures` future (from `executor.submit(...)`), and `Thread.join()`, on objects
    built from those constructors in the module or function.

    ## Why is this bad?
    These primitives park the calling thread until another thread moves. In an `async def` the
    parked thread runs the event loop: no other task runs meanwhile, and when the thread that
    would release the lock (or answer the future) needs the loop, the program deadlocks. The
    async library has its own primitives (`asyncio.Lock`, `asyncio.Queue`,
    `asyncio.wrap_future`, ...) that suspend only the current task. The non-blocking forms
    (`get_nowait()`, `get(block=False)`, `acquire(blocking=False)`, a zero timeout) are not
    flagged.
    """

    code = "ASL250"
    slug = "blocking-sync-primitive"
    fix_safety = None
    markers = (b"threading", b"queue", b"futures", b"run_coroutine_threadsafe")
    examples = (
        Example(
            """
            import threading

            cache_lock = threading.Lock()
            cache = {}

            async def remember(key, value):
                with cache_lock:  # ASL250
                    cache[key] = value
            """
        ),
        Example(
            """
            import asyncio

            cache_lock = asyncio.Lock()
            cache = {}

            async def remember(key, value):
                async with cache_lock:
                    cache[key] = value
            """
        ),
    )

    def visit_With(self, node: cst.With) -> None:
        ctx = self.ctx
        if node.asynchronous is not None or not ctx.in_coroutine:
            return
        for item in node.items:
            found = lock_in_with(ctx, item.item)
            if found is None:
                continue
            entry, shown = found
            self.report(item.item, call=f"with {shown}:", instead=entry.instead[ctx.library])
