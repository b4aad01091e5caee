"""ASL250 blocking-sync-primitive: indefinite waits on thread primitives, and thread locks held across an `await`."""
from __future__ import annotations

import libcst as cst

from asynclint.rule import Example, Fix
from asynclint.semantics.blocking import (
    REENTRANT_LOCKS,
    Blocking,
    BlockingCallRule,
    acquired_lock,
    held_after_acquire,
    held_in_with,
    line_of,
    lock_in_with,
    source_text,
    suspension_text,
)

#: what goes wrong while a task holds a thread lock across an await
_DEADLOCK = "another task taking it meanwhile blocks the event loop, and this one never resumes to release it"
_REENTER = (
    "a worker thread the loop awaits cannot take it, and other tasks on the loop thread enter it freely "
    "(it belongs to the thread, not the task)"
)


class BlockingSyncPrimitive(BlockingCallRule):
    """Checks for thread synchronisation primitives misused in a coroutine body: a thread lock held
    across an `await`, and waits that block indefinitely, on objects built from `threading`,
    `queue` and `concurrent.futures` constructors in the module or function.

    A lock is held across an `await` when the block of `with lock:` on a
    `threading.Lock/RLock/Semaphore/BoundedSemaphore/Condition` contains an `await`, `async for`
    or `async with` of the same function, or one comes between `lock.acquire()` and the matching
    `lock.release()` in the same statement block. The waits are `Event.wait()`,
    `Condition.wait()/wait_for()`, `Barrier.wait()`, `Queue.get()/join()`, `Queue.put()` on a
    queue built with a positive maxsize, `Future.result()/exception()` on a `concurrent.futures`
    future (from `executor.submit(...)` or `asyncio.run_coroutine_threadsafe(...)`) and
    `Thread.join()`, called without a timeout or with a literal timeout above 0.1 s.

    ## Why is this bad?
    A task that holds a thread lock and suspends at an `await` keeps the lock while other tasks
    run on the same thread. The next task that takes the lock blocks the event loop, and the
    holder can never resume to release it: a deadlock. (An `RLock` or `Condition` is owned by the
    thread, so other tasks walk right in, and a worker thread the loop waits for cannot get it.)
    Taking a thread lock around a few statements with no `await` inside is the normal way to share
    state with threads, and is not reported; `asyncio.Lock` would not exclude other threads.

    The waits park the thread that runs the event loop until another thread moves: no other task
    runs meanwhile, and if that thread needs the loop, the program deadlocks. Use the async
    library's primitives (`asyncio.Event`, `asyncio.Queue`, `asyncio.wrap_future`, ...), which
    suspend only the current task, or wait on a worker thread. Not flagged: the non-blocking forms
    (`get_nowait()`, `get(block=False)`, `acquire(blocking=False)`), literal timeouts up to 0.1 s,
    timeouts given by a variable (their length cannot be told), `put()` on an unbounded queue
    (it never blocks), and a wait right after a check of the same object's state
    (`while q.empty(): await asyncio.sleep(0)` then `q.get()`, `if fut.done(): fut.result()`).
    """

    code = "ASL250"
    slug = "blocking-sync-primitive"
    message = "`{call}` {problem}; {advice}"
    fix_safety = None
    markers = (b"threading", b"queue", b"futures", b"run_coroutine_threadsafe")
    examples = (
        Example(
            """
            import threading

            cache_lock = threading.Lock()
            cache = {}
            ready = threading.Event()

            async def refresh(key, fetch):
                with cache_lock:  # ASL250
                    cache[key] = await fetch(key)

            async def start():
                ready.wait()  # ASL250
            """
        ),
        Example(
            """
            import threading

            cache_lock = threading.Lock()
            cache = {}
            ready = threading.Event()

            async def refresh(key, fetch):
                value = await fetch(key)
                with cache_lock:
                    cache[key] = value

            async def start():
                ready.wait(timeout=0.05)
            """
        ),
    )

    def report_blocking(self, node: cst.Call, fix: Fix | None, call: str, instead: str) -> None:
        self.report(node, fix=fix, call=call, problem="blocks the event loop", advice=f"use {instead}")

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        ctx = self.ctx
        if not ctx.in_coroutine or ctx.is_awaited(node):
            return
        entry = acquired_lock(ctx, node)
        if entry is None:
            return
        suspension = held_after_acquire(ctx, node)
        if suspension is not None:
            assert isinstance(node.func, cst.Attribute)
            self._report_held(node, f"{source_text(ctx, node.func)}(...)", entry, suspension)

    def visit_With(self, node: cst.With) -> None:
        ctx = self.ctx
        if node.asynchronous is not None or not ctx.in_coroutine:
            return
        for index, item in enumerate(node.items):
            entry = lock_in_with(ctx, item.item)
            if entry is None:
                continue
            suspension = held_in_with(node, index)
            if suspension is not None:
                self._report_held(item.item, f"with {source_text(ctx, item.item)}:", entry, suspension)

    def _report_held(self, node: cst.CSTNode, call: str, entry: Blocking, suspension: cst.CSTNode) -> None:
        ctx = self.ctx
        why = _REENTER if any(entry is lock for lock in REENTRANT_LOCKS) else _DEADLOCK
        problem = (
            f"holds a thread lock across the {suspension_text(suspension)} at line {line_of(ctx, suspension)}, "
            f"a deadlock risk: {why}"
        )
        advice = f"release it before awaiting, or use {entry.instead[ctx.library]} if only tasks share it"
        self.report(node, call=call, problem=problem, advice=advice)
