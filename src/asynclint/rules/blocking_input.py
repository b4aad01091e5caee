"""ASL240 blocking-input: `input()` in a coroutine body."""
from __future__ import annotations

from asynclint.rule import Example, Safety
from asynclint.semantics.blocking import BlockingCallRule


class BlockingInput(BlockingCallRule):
    """Checks for `input()` in a coroutine body.

    ## Why is this bad?
    `input()` waits for a person to type a line. In an `async def` the event loop waits too, so
    no other task runs until the user presses Enter.

    ## Fix safety
    The fix is unsafe: it reads the line on a worker thread with `await asyncio.to_thread(input,
    ...)` (or the module's async library's equivalent). Other tasks keep running, and may print
    while the prompt is shown.

    ## Options
    - `fix-style`, `target-version`: which thread wrapper the fix writes.
    """

    code = "ASL240"
    slug = "blocking-input"
    fix_safety = Safety.UNSAFE
    markers = (b"input",)
    examples = (
        Example(
            """
            async def confirm(question):
                return input(f"{question} [y/N] ") == "y"  # ASL240
            """,
            fixed="""
            import asyncio

            async def confirm(question):
                return await asyncio.to_thread(input, f"{question} [y/N] ") == "y"  # ASL240
            """,
        ),
        Example(
            """
            import asyncio

            async def confirm(question):
                return await asyncio.to_thread(input, f"{question} [y/N] ") == "y"
            """
        ),
    )
