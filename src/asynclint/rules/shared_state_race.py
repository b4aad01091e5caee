"""ASL302 shared-state-race: a read-modify-write of module-level state in a threaded function."""
from __future__ import annotations

import libcst as cst

from asynclint.rule import Example, Safety
from asynclint.semantics.threads import (
    ThreadedRule,
    Threads,
    Why,
    facts,
    reads,
    statement_text,
)


class SharedStateRace(ThreadedRule):
    """Checks for non-atomic read-modify-writes of module-level state in a threaded function that
    holds no lock: `global x; x += 1`, `x = x + 1`, `D[k] += 1`, `D[k] = D.get(k, 0) + 1`,
    `obj.attr += 1` on a module-level object; and the same spread over statements, reported once
    at the store and naming the read: check-then-act (`if k not in CACHE: CACHE[k] = build(k)`,
    the store under an `if`/`while` whose test reads the state) and a read into a local that the
    store uses (`n = COUNTS.get(k, 0)` ... `COUNTS[k] = n + 1`; `t = TOTAL` ... `TOTAL = t + x`).
    Only one lock held from the read to the store makes those safe.

    A threaded function is a sync `def` that a framework or the program runs on a pool thread
    (Azure Functions apps and blueprints, also a blueprint imported from another module of the
    app; Flask views, request hooks and error handlers (`before_request`, `after_request`,
    `teardown_*`, `errorhandler`); FastAPI/Starlette sync endpoints and sync dependencies
    (`Depends(get_db)` on a `def`); Django function views, class-based and generic views;
    `threading.Thread`, `ThreadPoolExecutor.submit/map`, `run_in_executor`, `asyncio.to_thread`,
    configured entry points), or a sync function of the same module that one of them calls.
    State includes the attributes of a module-level instance (`STATS = Stats()`): `self.hits += 1`
    in a method of `Stats` reached from a threaded function races like a global; the fix takes the
    lock the class already keeps (`self._lock`) when it keeps one. A statement counts as
    protected inside `with LOCK:` (or between `LOCK.acquire()` and `LOCK.release()`), or when
    every call path to its function holds a lock, and only when it is the same lock as the other
    functions' updates of that state: an update under one module lock after another function
    updated the same state under a different one is reported (no fix).

    ## Why is this bad?
    Threads share module state. `COUNTER += 1` is three steps (read, add, store); two threads can
    read the same old value and both store `old + 1`, so one update is lost. The loss is silent
    and depends on timing, so it rarely shows up in tests and regularly in production, where
    `PYTHON_THREADPOOL_THREAD_COUNT`, `gunicorn --threads` or FastAPI's thread pool run many
    requests at once. Single atomic operations (`list.append`, `dict[k] = v` whose value does not
    read the dict, `dict.setdefault`, `queue`/`deque` methods) are not flagged, nor are locals,
    attributes of a `threading.local()`, and code that only runs at import time.

    ## Fix safety
    The fix is unsafe: it wraps the statement (for an update spread over statements, every
    statement from the read to the store) in `with <lock>:`, reusing a module-level lock the
    module already holds around the same state, or adding `_<name>_lock = threading.Lock()` (named
    after the state: `_counter_lock` for `COUNTER`) and `import threading` when missing. A new
    lock changes timing and can deadlock if the statement calls code that takes the same lock
    in another order. A one-line suite (`if hit: COUNTER += 1`) is rewritten into an indented block.
    No fix is offered when a caller already holds the (non-reentrant) lock that guards the state:
    taking it again would deadlock, and a second lock would not exclude the first.

    ## Options
    `thread-entrypoints` adds decorators or qualified function names whose functions run on pool
    threads; `lock-names` adds qualified names of lock constructors or lock objects.
    """

    code = "ASL302"
    gate = "threads-state"
    slug = "shared-state-race"
    fix_safety = Safety.UNSAFE
    message = (
        "`{stmt}` is a non-atomic read-modify-write of module-level `{state}` in `{func}()`, which {why}: "
        "concurrent calls lose updates; hold a lock around it (`with {lock}:`)"
    )
    span_message = (
        "`{read}` at line {read_line} {what} module-level `{state}` and `{stmt}` at line {line} stores it "
        "in `{func}()`, which {why}: another call can change it in between, and one of the updates is "
        "lost; hold one lock from the read to the store (`with {lock}:`)"
    )
    conflict_message = (
        "`{stmt}` updates module-level `{state}` in `{func}()` under `{lock}`, but `{other_func}()` updates "
        "it at line {other_line} under `{other}`: two different locks do not exclude each other, so "
        "concurrent calls still lose updates; take one lock in every function that updates it"
    )
    examples = (
        Example(
            """
            import azure.functions as func

            app = func.FunctionApp()
            HITS = {}

            @app.route(route="hit")
            def hit(req: func.HttpRequest) -> func.HttpResponse:
                page = req.params.get("page", "/")
                HITS[page] = HITS.get(page, 0) + 1  # ASL302
                return func.HttpResponse(str(HITS[page]))
            """,
            fixed="""
            import azure.functions as func
            import threading

            _hits_lock = threading.Lock()

            app = func.FunctionApp()
            HITS = {}

            @app.route(route="hit")
            def hit(req: func.HttpRequest) -> func.HttpResponse:
                page = req.params.get("page", "/")
                with _hits_lock:
                    HITS[page] = HITS.get(page, 0) + 1  # ASL302
                return func.HttpResponse(str(HITS[page]))
            """,
        ),
        Example(
            """
            import threading
            from concurrent.futures import ThreadPoolExecutor

            TOTAL = 0
            SEEN = []
            _total_lock = threading.Lock()

            def work(n):
                global TOTAL
                SEEN.append(n)  # one atomic operation
                with _total_lock:
                    TOTAL += n  # under a lock

            with ThreadPoolExecutor() as pool:
                list(pool.map(work, range(10)))
            """
        ),
    )

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check(node)

    def _split_update(
        self, threads: Threads, func: cst.FunctionDef, node: cst.AugAssign | cst.Assign
    ) -> tuple[cst.CSTNode, str, cst.Name] | None:
        """A read-modify-write spread over statements, ending in the single store ``node``:
        (the read, what kind, the state). Check-then-act: the store sits under an ``if``/``while``
        whose test reads the same state (``if k not in CACHE: CACHE[k] = build()``). Read into a
        local: the stored value uses a local assigned earlier in the function from the state
        (``n = COUNTS.get(k, 0)`` ... ``COUNTS[k] = n + 1``)."""
        if not isinstance(node, cst.Assign):
            return None
        found = _store_root(threads, node)
        if found is None:
            return None
        root, target = found
        ref: cst.BaseExpression = target.value if isinstance(target, cst.Subscript) else target
        child: cst.CSTNode = node
        parent = self.ctx.parent(node)
        while parent is not None and parent is not func:
            if isinstance(parent, (cst.If, cst.While)) and child is not parent.test and reads(parent.test, ref):
                return parent.test, "check", root
            child, parent = parent, self.ctx.parent(parent)
        used = {n.value for n in _names(node.value)}
        if not used:
            return None
        for stmt in _statements_before(func, node):
            for small in reversed(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else ():
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value in used
                ):
                    if reads(small.value, ref):
                        return small, "local", root
                    # rebound from something else after the read: the store no longer uses it
                    used.discard(small.targets[0].target.value)
            if not used:
                return None
        return None

    def _report_span(
        self, threads: Threads, func: cst.FunctionDef, why: Why, node: cst.CSTNode, read: cst.CSTNode, kind: str, root: cst.Name
    ) -> None:
        if threads.locked_together([read, node]):
            self._check_conflict(threads, func, node, root)
            return
        lock, create, fixable = threads.lock_name(root.value, None, root.value, func)
        fix = threads.lock_span_fix([read, node], lock, create, f"Hold `{lock}` from the read to the store") if fixable else None
        what = "checks" if kind == "check" else "reads"
        text = self.span_message.format(
            read=statement_text(self.ctx, read, 40),
            read_line=threads.line(read),
            what=what,
            stmt=statement_text(self.ctx, node, 40),
            line=threads.line(node),
            state=root.value,
            func=threads.display(func),
            why=threads.describe(why),
            lock=lock,
        )
        self.ctx.add_finding(self, node, text, fix)

    def _check(self, node: cst.AugAssign | cst.Assign) -> None:
        func = self.ctx.current_function
        if func is None or func.asynchronous is not None:
            return
        threads = facts(self.ctx)
        why = threads.threaded(func)
        if why is None:
            return
        root = race_root(threads, node)
        if root is None:
            span = self._split_update(threads, func, node)
            if span is not None:
                self._report_span(threads, func, why, node, *span)
            return
        if threads.locked(node):
            self._check_conflict(threads, func, node, root)
            return
        lock, create, fixable = threads.lock_name(root.value, None, root.value, func)

        def same_lock(line: cst.SimpleStatementLine) -> bool:
            roots = [race_root(threads, small) for small in line.body]
            return all(r is not None and threads.lock_name(r.value, None, r.value, func)[0] == lock for r in roots)

        fix = None
        if fixable:
            fix = threads.lock_fix(node, lock, create, f"Hold `{lock}` around the update", group=same_lock)
        self.report(
            node,
            fix=fix,
            stmt=statement_text(self.ctx, node),
            state=root.value,
            func=threads.display(func),
            why=threads.describe(why),
            lock=lock,
        )

    def _check_conflict(self, threads: Threads, func: cst.FunctionDef, node: cst.CSTNode, root: cst.Name) -> None:
        """An update held under one module lock while an earlier function updates the same state
        under a different one: reported at the later (two locks exclude nothing)."""
        mine = threads.lock_names_around(node)
        if not mine:
            return  # an instance lock or acquire(): not compared
        earlier: dict[str, list[tuple[cst.FunctionDef, cst.CSTNode, set[str]]]]
        earlier = self.ctx.memo("asl302.locked-updates", dict)  # type: ignore[assignment]
        seen = earlier.setdefault(root.value, [])
        # the first other function's lock is the one to keep; later writers are compared to it
        for other_func, other, theirs in seen[:1] if seen and seen[0][0] is not func else ():
            if not theirs & mine:
                self.ctx.add_finding(
                    self,
                    node,
                    self.conflict_message.format(
                        stmt=statement_text(self.ctx, node, 40),
                        state=root.value,
                        func=threads.display(func),
                        lock=sorted(mine)[0],
                        other_func=threads.display(other_func),
                        other_line=threads.line(other),
                        other=sorted(theirs)[0],
                    ),
                    None,
                )
                break
        seen.append((func, node, mine))


def _store_root(threads: Threads, node: cst.Assign) -> tuple[cst.Name, cst.BaseExpression] | None:
    """(module-level name, target) for a single store ``D[k] = v`` / ``obj.x = v`` / ``X = v``
    into module state."""
    if len(node.targets) != 1:
        return None
    target = node.targets[0].target
    if not isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)):
        return None
    root = threads.module_state_root(target)
    return (root, target) if root is not None else None


def race_root(threads: Threads, node: cst.BaseSmallStatement) -> cst.Name | None:
    """The module-level name ``node`` read-modify-writes, or None when it is not such an update."""
    if isinstance(node, cst.AugAssign):
        target, value, operator = node.target, None, node.operator
    elif isinstance(node, cst.Assign) and len(node.targets) == 1:
        target, value, operator = node.targets[0].target, node.value, None
    else:
        return None
    if not isinstance(target, (cst.Name, cst.Attribute, cst.Subscript)):
        return None
    root = threads.module_state_root(target)
    if root is None:
        return None
    if value is None:
        # ``L += [x]`` / ``S |= {x}`` on a module-level list or set mutates it in place
        if isinstance(target, cst.Name) and isinstance(operator, (cst.AddAssign, cst.BitOrAssign)) and threads.is_container(root):
            return None
        return root
    ref = target.value if isinstance(target, cst.Subscript) else target
    return root if reads(value, ref) else None  # else a single store


def _names(tree: cst.CSTNode) -> list[cst.Name]:
    out: list[cst.Name] = []
    todo: list[cst.CSTNode] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, cst.Name):
            out.append(node)
        elif isinstance(node, cst.Attribute):
            todo.append(node.value)
        elif not isinstance(node, cst.Lambda):
            todo.extend(node.children)
    return out


def _statements_before(func: cst.FunctionDef, node: cst.CSTNode) -> list[cst.BaseStatement]:
    """The statements of ``func``'s body (not nested deeper) that come before the one holding
    ``node``, nearest first."""
    body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
    for i, stmt in enumerate(body):
        if _contains(stmt, node):
            return list(reversed(body[:i]))
    return []


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    todo: list[cst.CSTNode] = [tree]
    while todo:
        current = todo.pop()
        if current is node:
            return True
        todo.extend(current.children)
    return False
