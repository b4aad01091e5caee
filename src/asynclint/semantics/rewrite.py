"""Building replacement nodes for fixes: ``await``, thread wrappers, library calls, naming modules by
names that are bound to them where the fix goes."""
from __future__ import annotations

from typing import Sequence

import libcst as cst

from asynclint.rule import ImportSpec
from asynclint.semantics import Context

_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def dotted(ref: str) -> cst.BaseExpression:
    """``"a.b.c"`` as an expression node."""
    parts = ref.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def needs_parens(ctx: Context, node: cst.CSTNode) -> bool:
    """An ``await`` replacing ``node`` needs parentheses where ``node`` is a primary: ``x.attr``,
    ``x[i]``, ``x(...)``, or a decorator expression."""
    parent = ctx.parent(node)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return True
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return True
    if isinstance(parent, cst.Call) and parent.func is node:
        return True
    return isinstance(parent, cst.Decorator)


def can_await_here(ctx: Context) -> bool:
    """An ``await`` is allowed at the current node and keeps its meaning: inside a coroutine body and
    not inside a generator expression (an ``await`` there makes it an async generator)."""
    if not ctx.in_coroutine:
        return False
    body = ctx.scopes[-1][1]
    for node in reversed(ctx.stack):
        if node is body:
            return True
        if isinstance(node, cst.GeneratorExp):
            return False
    return True


def awaited(ctx: Context, original: cst.CSTNode, expr: cst.BaseExpression) -> cst.Await:
    """``await expr`` standing where ``original`` stood, keeping its parentheses and adding the ones
    precedence needs."""
    lpar: Sequence[cst.LeftParen] = getattr(original, "lpar", ())
    rpar: Sequence[cst.RightParen] = getattr(original, "rpar", ())
    if not lpar and needs_parens(ctx, original):
        lpar, rpar = (cst.LeftParen(),), (cst.RightParen(),)
    if hasattr(expr, "lpar"):
        expr = expr.with_changes(lpar=(), rpar=())
    return cst.Await(expression=expr, lpar=lpar, rpar=rpar)


def _call(func: cst.BaseExpression, args: Sequence[cst.Arg]) -> cst.Call:
    fixed: list[cst.Arg] = []
    for i, arg in enumerate(args):
        if i < len(args) - 1 and arg.comma is cst.MaybeSentinel.DEFAULT:
            arg = arg.with_changes(comma=_COMMA)
        fixed.append(arg)
    return cst.Call(func=func, args=fixed)


def _partial(ctx: Context, call: cst.Call) -> tuple[cst.BaseExpression, tuple[ImportSpec, ...]]:
    """``func`` alone when the call has no arguments, else ``functools.partial(func, *args, **kwargs)``."""
    func = call.func.with_changes(lpar=(), rpar=()) if hasattr(call.func, "lpar") else call.func
    args = list(call.args)
    if not args:
        return func, ()
    ref, imports = ctx.module_ref("functools", call)
    return _call(dotted(f"{ref}.partial"), [cst.Arg(func), *args]), imports


def thread_wrapper(ctx: Context, call: cst.Call) -> tuple[cst.Await, tuple[ImportSpec, ...]]:
    """Run ``call`` on a worker thread and await it, in the async library of the call's scope and
    the configured fix style (module names resolved where the call stands, see :func:`library_call`):
    ``await asyncio.to_thread(f, *a, **k)``,
    ``await asyncio.get_running_loop().run_in_executor(None, functools.partial(f, *a, **k))``,
    ``await trio.to_thread.run_sync(functools.partial(...))``, ``await anyio.to_thread.run_sync(...)``."""
    lib = ctx.library_at(call)
    if lib in ("trio", "anyio"):
        target, part_imports = _partial(ctx, call)
        ref, imports = ctx.module_ref(lib, call)
        if lib == "anyio":
            # ``anyio.to_thread`` is a submodule the package does not import: import it (module
            # level, so every name of the package sees it); it binds ``anyio`` as ``import anyio`` would
            imports = tuple(i for i in imports if i != ImportSpec("anyio")) + (ImportSpec("anyio.to_thread"),)
        new = _call(dotted(f"{ref}.to_thread.run_sync"), [cst.Arg(target)])
        return awaited(ctx, call, new), (*imports, *part_imports)
    ref, imports = ctx.module_ref("asyncio", call)
    if ctx.config.uses_run_in_executor:
        target, part_imports = _partial(ctx, call)
        loop = cst.Call(func=dotted(f"{ref}.get_running_loop"))
        new = _call(cst.Attribute(value=loop, attr=cst.Name("run_in_executor")), [cst.Arg(cst.Name("None")), cst.Arg(target)])
        return awaited(ctx, call, new), (*imports, *part_imports)
    func = call.func.with_changes(lpar=(), rpar=()) if hasattr(call.func, "lpar") else call.func
    new = _call(dotted(f"{ref}.to_thread"), [cst.Arg(func), *list(call.args)])
    return awaited(ctx, call, new), imports


def library_call(ctx: Context, call: cst.Call, attr: str) -> tuple[cst.Await, tuple[ImportSpec, ...]]:
    """``await <lib>.<attr>(<the call's args>)`` for the async library of the call's scope
    (``asyncio.sleep``), named by a name bound to that library where the call stands
    (:meth:`Context.module_ref`: an unshadowed existing import, else a new one)."""
    ref, imports = ctx.module_ref(ctx.library_at(call), call)
    new = call.with_changes(func=dotted(f"{ref}.{attr}"), lpar=(), rpar=())
    return awaited(ctx, call, new), imports
