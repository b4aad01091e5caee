"""ASL104 async-never-suspends (off by default): every ``async def`` that never suspends, the broad
style check that ASL100 narrowed down to the cases worth acting on."""
from __future__ import annotations

from asynclint.rule import Example
from asynclint.rules.async_without_await import AsyncWithoutAwait, _Candidate


class AsyncNeverSuspends(AsyncWithoutAwait):
    """Checks for every `async def` whose own body has no `await`, `async for`, `async with` or
    `yield`, other than the ones ASL100 reports (each function is reported under one code).

    Off by default: enable it with `extend-select = ["ASL104"]` (a prefix such as `ASL` or `ASL1`
    does not enable it). On real code most of what it reports must stay a coroutine because
    someone else awaits it: framework handlers and hooks with a fixed async signature, callbacks,
    test fakes, a coroutine another module imports. It is a style check for code bases that want
    every `async def` to suspend, like ruff's preview rule RUF029.

    Only the function's own body counts: nested `def`, `lambda` and class bodies are other scopes,
    while comprehensions and generator expressions belong to the function. Not flagged: stub
    bodies (a docstring, `pass`, `...`, `raise NotImplementedError`, or a docstring with one of
    those), functions decorated with `@abc.abstractmethod`, `@typing.overload`, `@typing.override`
    or `@contextlib.asynccontextmanager`, async generators, methods of a class that has a base
    class other than `object` (they may implement an inherited async interface), functions with a
    decorator listed in `async-decorators`, and the async protocol methods `__aenter__`,
    `__aexit__` and `__anext__`.

    ## Why is this bad?
    A coroutine that never suspends runs from start to end in one step of the event loop. The
    `async` buys nothing, forces every caller to `await` it, and hides that any slow work inside
    it blocks the loop. Either the function should be a plain `def`, or it is missing the `await`
    on the async work it was meant to do. Whether that is worth a change depends on who calls the
    function, which is why the rule is off by default.

    ## Options
    `async-decorators`: qualified names of decorators whose functions must stay `async`
    (`["myapp.tasks.register"]`).
    """

    code = "ASL104"
    slug = "async-never-suspends"
    fix_safety = None
    default = False
    #: awaits that never suspend count as none: any coroutine body may be one
    gate = None
    examples = (
        Example(
            """
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/health")
            async def health() -> dict:  # ASL104
                return {"ok": True}

            async def on_message(message):  # ASL104
                return message.upper()
            """
        ),
        Example(
            """
            import abc
            import asyncio

            async def fetch(reader):
                return await reader.read()

            async def ticks():
                yield 1

            class Store(abc.ABC):
                @abc.abstractmethod
                async def load(self): ...

            class FileStore(Store):
                async def load(self):
                    return {}
            """
        ),
    )

    def decide(self, candidate: _Candidate) -> None:
        if candidate.exempt or self.is_reported_here(candidate):
            return
        self.report(
            candidate.func.name,
            name=candidate.func.name.value,
            advice="make it a plain `def` (and drop the `await` at its call sites), or `await` the async work it should do",
        )
