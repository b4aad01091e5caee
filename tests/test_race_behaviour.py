"""A race you can see: the lost updates and torn file lines ASL300/ASL302 report happen when the
handler runs on a real ThreadPoolExecutor, and the lock fix makes every update and line survive."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from asynclint.config import Config
from asynclint.engine import lint_bytes
from asynclint.fixes import fix_bytes

DATA = Path(__file__).resolve().parent / "data" / "race_handlers.py"
CALLS = 200
LINE = re.compile(r"record \d{4} payload end")


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(folder: Path, source: bytes, name: str) -> tuple[int, list[str]]:
    """Write ``source`` as a module in ``folder``, serve CALLS requests, return (count, file lines)."""
    path = folder / f"{name}.py"
    path.write_bytes(source)
    module = _load(path, name)
    try:
        module.serve(CALLS)
    finally:
        sys.modules.pop(name, None)
    lines = (folder / "records.txt").read_text().splitlines()
    return module.COUNTS["requests"], lines


@pytest.fixture(autouse=True)
def _fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_findings_name_the_executor() -> None:
    result = lint_bytes(DATA.read_bytes(), str(DATA), Config(select=["ASL3"]))
    assert [(f.line, f.code) for f in result.findings] == [(21, "ASL302"), (22, "ASL300")]
    assert "in `handle()`, which runs on a ThreadPoolExecutor's threads via pool.map(...) at line 31" in result.findings[0].message
    assert "`with _counts_lock:`" in result.findings[0].message
    assert "`with _records_lock:`" in result.findings[1].message


def test_the_race_loses_updates_and_tears_lines_until_the_lock_fix(tmp_path: Path) -> None:
    source = DATA.read_bytes()
    before = tmp_path / "before"
    before.mkdir()
    count, lines = _run(before, source, "race_before")
    torn = [line for line in lines if not LINE.fullmatch(line)]
    # eight threads read the counter, pause, and write back: increments are lost (typically 3 in 4)
    assert count < CALLS * 3 // 4, count
    # the parts of different records interleave in the file
    assert len(torn) > CALLS // 4, lines[:5]

    fixed = fix_bytes(source, str(DATA), Config(select=["ASL3"]), unsafe=True)
    assert fixed.error is None and fixed.changed
    text = fixed.source.decode()
    assert "import threading\n" in text
    assert "_counts_lock = threading.Lock()\n" in text
    assert "_records_lock = threading.Lock()\n" in text
    assert (
        '    with _counts_lock:\n        COUNTS["requests"] = COUNTS.get("requests", 0) + _pause()\n'
        "    with _records_lock:\n"
        '        with open(RECORDS, "a") as fh:\n'
    ) in text
    assert lint_bytes(fixed.source, str(DATA), Config(select=["ASL3"])).findings == []

    after = tmp_path / "after"
    after.mkdir()
    count, lines = _run(after, fixed.source, "race_after")
    assert count == CALLS
    assert len(lines) == CALLS
    assert all(LINE.fullmatch(line) for line in lines)
    assert sorted(int(line.split()[1]) for line in lines) == list(range(CALLS))
