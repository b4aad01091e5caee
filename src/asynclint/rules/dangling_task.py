"""ASL102 dangling-task: a task created and its only reference thrown away."""
from __future__ import annotations

import libcst as cst
from libcst.metadata import Assignment, FunctionScope, Scope

from asynclint.rule import Example, Fix, Rule, Safety
from asynclint.semantics import Context

#: loop getters: ``<getter>().create_task`` is an event loop's method
LOOP_GETTERS = (
    "asyncio.get_event_loop",
    "asyncio.get_running_loop",
    "asyncio.new_event_loop",
    "asyncio.events.get_event_loop",
    "asyncio.events.get_running_loop",
    "asyncio.events.new_event_loop",
    "uvloop.new_event_loop",
)
#: annotations that make a parameter or attribute an event loop
LOOP_TYPES = frozenset(
    {"asyncio.AbstractEventLoop", "asyncio.BaseEventLoop", "asyncio.events.AbstractEventLoop", "asyncio.base_events.BaseEventLoop"}
)
TASK_FACTORIES = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.tasks.create_task",
        "asyncio.tasks.ensure_future",
        *(f"{getter}().create_task" for getter in LOOP_GETTERS),
    }
)
SET_NAME = "_background_tasks"


class DanglingTask(Rule):
    """Checks for `asyncio.create_task(...)`, `asyncio.ensure_future(...)` and `loop.create_task(...)`
    whose result is thrown away: an expression statement; an element of a list, set or tuple
    display, or of a list or set comprehension, that is itself a thrown-away statement
    (`[create_task(work(i)) for i in items]`); the test of a conditional expression or of a
    comprehension's `if` (the task is looked at for truth, then dropped); a local of the function
    that is assigned the task and never read (`task = create_task(...)` and nothing uses `task`).
    A generator expression that is never iterated creates no task and is not flagged. Only the
    expression-statement form has a fix.

    `loop` is an object known to be an event loop: built by `asyncio.get_event_loop()`,
    `asyncio.get_running_loop()` or `asyncio.new_event_loop()` (directly or through a name bound to
    one), or a parameter annotated `asyncio.AbstractEventLoop`. Other objects with a `create_task`
    method are not flagged: `asyncio.TaskGroup.create_task` keeps its tasks alive until the group
    exits, and an unknown object may be such a group or a wrapper that keeps references.

    ## Why is this bad?
    The event loop keeps only a weak reference to its tasks. A task that nothing else refers to
    can be garbage-collected before it finishes, silently stopping the work in the middle, and
    its exception is never seen. The asyncio documentation says to keep a reference to every task
    until it is done.

    ## Fix safety
    The fix is unsafe: it keeps the task in a module-level set, `_background_tasks = set()`, until
    it is done, replacing the statement with

    ```python
    task = asyncio.create_task(...)
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    ```

    The task then lives until it finishes, which can change memory use and when (and whether)
    its exception is logged. Three plain statements read better than one walrus expression and
    work on every Python version; the local name is fresh (`task`, else `task_1`, ...) so no
    variable of the function is overwritten or turned into a local. The fix is only offered when
    the call is a statement on its own line (not in a one-line `if x: ...` suite or after a `;`),
    where three statements can take its place. An existing module-level `_background_tasks = set()`
    is reused.
    """

    code = "ASL102"
    slug = "dangling-task"
    fix_safety = Safety.UNSAFE
    #: off by default: on the real-world corpus most discarded tasks were kept alive by the loop
    #: (a timer, a waiter) or declined upstream as unnecessary (precision 0.33)
    default = False
    message = (
        "the task from `{call}(...)` is not stored and may be garbage-collected before it finishes; "
        "keep a reference until it is done (add it to a module-level set and "
        "`task.add_done_callback(set.discard)`), or await it"
    )
    dropped_message = (
        "the task from `{call}(...)` {how}: nothing keeps a reference, so it may be garbage-collected "
        "before it finishes; keep a reference until it is done (add it to a module-level set and "
        "`task.add_done_callback(set.discard)`), or await it"
    )
    markers = (b"create_task", b"ensure_future")
    examples = (
        Example(
            """
            import asyncio

            async def notify(user):
                await asyncio.sleep(0)

            async def signup(user):
                asyncio.create_task(notify(user))  # ASL102
            """,
            fixed="""
            import asyncio

            _background_tasks = set()

            async def notify(user):
                await asyncio.sleep(0)

            async def signup(user):
                task = asyncio.create_task(notify(user))  # ASL102
                _background_tasks.add(task)
                task.add_done_callback(_background_tasks.discard)
            """,
        ),
        Example(
            """
            import asyncio

            async def notify(user):
                await asyncio.sleep(0)

            async def signup(users):
                task = asyncio.create_task(notify(users[0]))
                async with asyncio.TaskGroup() as tg:
                    for user in users:
                        tg.create_task(notify(user))
                await task
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.ctx
        how = self._dropped(node)
        if how is None:
            return
        names = ctx.callee_names(node) & TASK_FACTORIES
        if names:
            shown = min(names)
            if "()" in shown:
                shown = "loop.create_task"
        elif self._is_loop_method(node):
            shown = "loop.create_task"
        else:
            return
        fix = self._fix(node) if how == "statement" else None
        self.ctx.add_finding(self, node, self.message.format(call=shown) if how == "statement" else self.dropped_message.format(call=shown, how=how), fix)

    def _dropped(self, call: cst.Call) -> str | None:
        """How the task's only reference is lost: ``"statement"`` (an expression statement), or a
        description for the other forms: an element of a list, set or tuple display or of a
        list or set comprehension that is itself a discarded statement; the test of a conditional
        expression or of a comprehension's ``if`` (the task is only looked at for truth); a local
        that is assigned the task and never read."""
        ctx = self.ctx
        parent = ctx.parent(call)
        if isinstance(parent, cst.Expr):
            return "statement"
        if isinstance(parent, cst.Element):
            display = ctx.parent(parent)
            if isinstance(display, (cst.List, cst.Set, cst.Tuple)) and isinstance(ctx.parent(display), cst.Expr):
                return "is put in a list, set or tuple that the statement throws away"
        if isinstance(parent, (cst.ListComp, cst.SetComp)) and parent.elt is call and isinstance(ctx.parent(parent), cst.Expr):
            return "is put in a comprehension that the statement throws away"
        if isinstance(parent, cst.IfExp) and parent.test is call:
            return "is only tested for truth by a conditional expression"
        if isinstance(parent, cst.CompIf) and parent.test is call:
            return "is only tested for truth by a comprehension's `if`"
        target = None
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign) and parent.value is call:
            target = parent.target
        if isinstance(target, cst.Name) and self._never_read(target):
            return f"is stored in `{target.value}`, which is never read"
        return None

    def _never_read(self, name: cst.Name) -> bool:
        """A local of a function that no code of the function reads (no access at all, and no
        ``locals()``/``vars()``; a ``global`` or ``nonlocal`` name is not a local)."""
        scope = self.ctx.scope_of(name)
        if not isinstance(scope, FunctionScope) or name.value not in scope.assignments:
            return False
        if any(getattr(a.node, "value", None) in ("locals", "vars") for a in scope.accesses):
            return False
        accesses = [a for a in scope.accesses if getattr(a.node, "value", None) == name.value]
        return not accesses

    def _is_loop_method(self, call: cst.Call) -> bool:
        """``loop.create_task`` where ``loop`` is a parameter or class attribute annotated as an event loop."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "create_task" and isinstance(func.value, cst.Name)):
            return False
        for definition in self.ctx.definitions(func.value):
            if (
                isinstance(definition, cst.Param)
                and definition.annotation is not None
                and self.ctx.qualified_names(definition.annotation.annotation) & LOOP_TYPES
            ):
                return True
        return False

    def _fix(self, call: cst.Call) -> Fix | None:
        ctx = self.ctx
        expr = ctx.parent(call)
        line = ctx.parent(expr) if expr is not None else None
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None  # one-line suite or a line shared with ``;``: no room for three statements
        scope = ctx.scope_of(call)
        if not isinstance(scope, Scope):
            return None
        module_scope = scope.globals
        set_name, prelude = _task_set(ctx, module_scope)
        local = _fresh(scope, "task")
        assign = line.with_changes(
            body=[
                cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(local))],
                    value=call,
                )
            ]
        )
        keep = cst.parse_statement(f"{set_name}.add({local})\n", config=ctx.module.config_for_parsing)
        done = cst.parse_statement(f"{local}.add_done_callback({set_name}.discard)\n", config=ctx.module.config_for_parsing)
        return Fix(
            f"Keep a reference to the task in `{set_name}` until it is done",
            Safety.UNSAFE,
            [(line, cst.FlattenSentinel([assign, keep, done]))],
            prelude=prelude,
        )


def _bound(scope: Scope, name: str) -> bool:
    """The name is assigned in, visible from, or read in ``scope``."""
    if name in scope:
        return True
    return any(getattr(access.node, "value", None) == name for access in scope.accesses)


def _fresh(scope: Scope, base: str) -> str:
    name, n = base, 0
    while _bound(scope, name):
        n += 1
        name = f"{base}_{n}"
    return name


def _task_set(ctx: Context, module_scope: Scope) -> tuple[str, tuple[str, ...]]:
    """The module-level set to keep tasks in, and the prelude that defines it when it is missing.

    ``_background_tasks`` is reused when the module binds it only to ``set()``; if it is bound to
    anything else, a fresh ``_background_tasks_<n>`` is used."""
    n = 0
    name = SET_NAME
    while True:
        assignments = [a for a in module_scope.assignments[name] if isinstance(a, Assignment)]
        if not assignments and not any(getattr(a.node, "value", None) == name for a in module_scope.accesses):
            return name, (f"{name} = set()",)
        if assignments and all(_is_set_binding(ctx, a.node) for a in assignments):
            return name, ()
        n += 1
        name = f"{SET_NAME}_{n}"


def _is_set_binding(ctx: Context, node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.Name):
        return False
    values = ctx.bound_values(node)
    return bool(values) and all(
        isinstance(v, cst.Call) and not v.args and "builtins.set" in ctx.qualified_names(v.func) for v in values
    )
