"""The engine's byte prefilter: which rules run on a file, decided before parsing."""
from __future__ import annotations

from asynclint import registry
from asynclint.config import Config
from asynclint.engine import lint_bytes, matching_rules


def codes(source: bytes, config: Config | None = None) -> set[str]:
    config = config or Config()
    return {r.code for r in matching_rules(source, registry.enabled_rules(config), config)}


def test_no_coroutine_no_coroutine_rules() -> None:
    # "async" only in prose: nothing can be a coroutine body, so nothing is parsed
    source = b'"""Helpers for async code."""\nimport time\n\ndef f():\n    time.sleep(1)\n'
    assert codes(source) == set()
    assert lint_bytes(source, "m.py", Config()).parsed is False


def test_async_def_enables_the_blocking_rules_whose_markers_occur() -> None:
    source = b"import time\n\nasync def f():\n    time.sleep(1)\n"
    assert {"ASL100", "ASL200", "ASL103"} <= codes(source)
    assert "ASL210" not in codes(source)  # no requests/urllib/http in the file
    # a public coroutine that never awaits is ASL104 (off by default); ASL100 leaves it alone
    assert [(f.line, f.code) for f in lint_bytes(source, "m.py", Config()).findings] == [(4, "ASL200")]


def test_thread_rules_need_an_entry_point_marker() -> None:
    plain = b"COUNT = 0\n\ndef bump():\n    global COUNT\n    COUNT += 1\n"
    assert not {"ASL300", "ASL301", "ASL302"} & codes(plain)
    threaded = plain + b"\nimport threading\nthreading.Thread(target=bump).start()\n"
    assert {"ASL300", "ASL301", "ASL302"} <= codes(threaded)
    assert [(f.line, f.code) for f in lint_bytes(threaded, "m.py", Config()).findings] == [(5, "ASL302")]


def test_configured_entry_point_opens_the_prefilter() -> None:
    source = b"COUNT = 0\n\n@jobs.background\ndef bump():\n    global COUNT\n    COUNT += 1\n"
    assert not {"ASL302"} & codes(source)
    config = Config(thread_entrypoints=["jobs.background"])
    assert "ASL302" in codes(source, config)
