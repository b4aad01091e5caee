"""What decides, before any parse, whether a rule can fire in a file: its byte markers and its gate.

The rule classes (``asynclint.rules``) import libcst; these specs do not, so that a file no rule can
match, or one the ``ast`` gate turns away, is done without loading the parser. Each rule class
carries the same values (``markers``, ``requires``, ``gate``); tests/test_rules_meta.py checks that
the two agree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asynclint.config import Config

#: an ``async def`` somewhere in the file (a coroutine body can exist)
COROUTINE_DEF = re.compile(rb"\basync\s+def\b")

THREAD_MARKERS: tuple[bytes, ...] = (
    # thread and executor entry points (the call or subclass forms, not any mention of threads)
    b"Thread(",
    b"Thread)",
    b"start_new_thread",
    b"Timer(",
    b"Executor",
    b"run_in_executor",
    b"to_thread",
    b"run_in_threadpool",
    # frameworks that run sync handlers on thread pools
    b"azure",
    b"flask",
    b".route(",  # routes on an app imported from another module (`from .app import app`)
    b"fastapi",
    b"starlette",
    b"django",
    b"rest_framework",
)

@dataclass(frozen=True)
class Spec:
    """A rule's prefilter: it cannot match a file that lacks ``requires`` or all of ``markers``,
    nor one its ``gate`` (asynclint.gate) turns away."""

    code: str
    markers: tuple[bytes | re.Pattern[bytes], ...]
    requires: bytes | re.Pattern[bytes] | None = None
    gate: str | None = None
    #: configured thread entry points (``thread-entrypoints``) add their last name as a marker
    threaded: bool = False

    def markers_for_config(self, config: Config) -> tuple[bytes | re.Pattern[bytes], ...]:
        if self.threaded:
            return (*self.markers, *(entry.rsplit(".", 1)[-1].encode() for entry in config.thread_entrypoints))
        return self.markers

    def could_match(self, source: bytes, config: Config) -> bool:
        """Cheap byte test before parsing: False when this rule cannot report anything in ``source``."""
        return could_match(self.requires, self.markers_for_config(config), source)


def could_match(
    required: bytes | re.Pattern[bytes] | None, markers: tuple[bytes | re.Pattern[bytes], ...], source: bytes
) -> bool:
    if required is not None:
        if isinstance(required, bytes):
            if required not in source:
                return False
        elif required.search(source) is None:
            return False
    return not markers or any((m in source) if isinstance(m, bytes) else m.search(source) is not None for m in markers)


_BLOCKING = "coroutine-calls"
SPECS: dict[str, Spec] = {
    spec.code: spec
    for spec in (
        Spec("ASL100", (), COROUTINE_DEF, "no-await"),
        Spec("ASL101", (COROUTINE_DEF, b"asyncio", b"trio", b"anyio"), None, "unawaited"),
        Spec("ASL102", (b"create_task", b"ensure_future")),
        Spec("ASL103", (), COROUTINE_DEF, "loop-run"),
        Spec("ASL104", (), COROUTINE_DEF),
        Spec("ASL200", (b"async",), COROUTINE_DEF, _BLOCKING),
        Spec("ASL210", (b"requests", b"urllib", b"http"), COROUTINE_DEF, _BLOCKING),
        Spec("ASL220", (b"subprocess", b"os"), COROUTINE_DEF, _BLOCKING),
        Spec(
            "ASL230",
            (b"open", b"pathlib", b"shutil", b"ssl", b"import_module", b"TextIOWrapper", b"Buffered", b"FileIO"),
            COROUTINE_DEF,
            _BLOCKING,
        ),
        Spec("ASL231", (b"os", b"path", b"Path", b"glob", b"shutil"), COROUTINE_DEF, _BLOCKING),
        Spec("ASL240", (b"input",), COROUTINE_DEF, _BLOCKING),
        Spec("ASL250", (b"threading", b"queue", b"futures", b"run_coroutine_threadsafe"), COROUTINE_DEF, _BLOCKING),
        Spec("ASL260", (b"async",), COROUTINE_DEF, _BLOCKING),
        Spec("ASL290", (b"async",), COROUTINE_DEF, "helper-calls"),
        Spec("ASL300", THREAD_MARKERS, None, "threads-write", threaded=True),
        Spec("ASL301", THREAD_MARKERS, None, "threads-handle", threaded=True),
        Spec("ASL302", THREAD_MARKERS, None, "threads-state", threaded=True),
    )
}
