"""--jobs: a run across worker processes prints, writes and exits exactly as a serial run does."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asynclint import cli, parallel

FIXTURES = Path(__file__).resolve().parent / "fixtures"
COPIED = [
    "ASL200.py", "ASL200_aliases.py", "ASL200_trio.py", "ASL210_run_in_executor.py", "ASL210_trio.py",
    "ASL240.py", "ASL301.py", "ASL302_config.py", "ASL302_self_partial.py",
]  # fmt: skip
CLEAN_ASYNC = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"
NO_ASYNC = "def add(a, b):\n    return a + b\n"
BROKEN = "import asyncio\n\n\nasync def handler(:\n    await asyncio.sleep(1)\n"


def make_tree(root: Path) -> Path:
    """12 files in three folders: fixtures with findings and fixes, clean files, a syntax error."""
    for i, name in enumerate(COPIED):
        folder = root / ("pkg" if i % 2 else "pkg/sub")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, folder / name)
    (root / "clean_async.py").write_text(CLEAN_ASYNC)
    (root / "pkg" / "no_async.py").write_text(NO_ASYNC)
    (root / "pkg" / "sub" / "broken.py").write_text(BROKEN)
    return root


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ASYNCLINT_OUTPUT_FORMAT"}
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", *args],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def outcome(proc: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return proc.returncode, proc.stdout, proc.stderr


def contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"))


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_output_is_identical_to_a_serial_run(tree: Path, fmt: str) -> None:
    serial = run("--jobs", "1", "--output-format", fmt, ".", cwd=tree)
    pooled = run("--jobs", "2", "--output-format", fmt, ".", cwd=tree)
    assert outcome(pooled) == outcome(serial)
    assert serial.returncode == 1
    assert serial.stderr == ""
    if fmt == "text":
        lines = serial.stdout.splitlines()
        assert lines[-1].startswith("Found ")
        files = [line.split(":")[0] for line in lines[:-1]]
        # in the order the folders are walked (sorted by name), then by position
        assert list(dict.fromkeys(files)) == [
            "pkg/ASL200_aliases.py", "pkg/ASL210_run_in_executor.py", "pkg/ASL240.py", "pkg/sub/ASL200.py",
            "pkg/sub/ASL200_trio.py", "pkg/sub/ASL210_trio.py", "pkg/sub/ASL301.py", "pkg/sub/ASL302_self_partial.py",
            "pkg/sub/broken.py",
        ]  # fmt: skip
        assert "pkg/sub/broken.py:4:19: ASL001 SyntaxError: invalid syntax" in lines
    if fmt == "json":
        findings = json.loads(serial.stdout)
        # the workers computed the fix edits (the tree they belong to never left the worker)
        edits = [f["fix"]["edits"] for f in findings if f["fix"] is not None]
        assert edits and all(edits)


def test_fix_writes_the_same_files(tmp_path: Path) -> None:
    one, two = make_tree(tmp_path / "one"), make_tree(tmp_path / "two")
    before = contents(one)
    serial = run("--fix", "--unsafe-fixes", "--jobs", "1", ".", cwd=one)
    pooled = run("--fix", "--unsafe-fixes", "--jobs", "2", ".", cwd=two)
    assert outcome(pooled) == outcome(serial)
    assert contents(two) == contents(one)
    changed = {name for name, data in contents(one).items() if data != before[name]}
    assert changed == {
        "pkg/ASL200_aliases.py", "pkg/ASL210_run_in_executor.py", "pkg/ASL240.py", "pkg/sub/ASL200.py",
        "pkg/sub/ASL200_trio.py", "pkg/sub/ASL210_trio.py", "pkg/sub/ASL301.py", "pkg/sub/ASL302_self_partial.py",
    }  # fmt: skip
    assert serial.stdout.splitlines()[-1].startswith("Fixed ")


def test_diff_is_the_same_and_writes_nothing(tree: Path) -> None:
    before = contents(tree)
    serial = run("--diff", "--unsafe-fixes", "--jobs", "1", ".", cwd=tree)
    pooled = run("--diff", "--unsafe-fixes", "--jobs", "2", ".", cwd=tree)
    assert outcome(pooled) == outcome(serial)
    assert serial.returncode == 2  # the syntax error
    assert serial.stderr.splitlines() == [
        "asynclint: pkg/sub/broken.py:4:19: SyntaxError: invalid syntax; not fixed",
        "Would fix 8 files.",
    ]
    assert serial.stdout.count("\n+++ ") + serial.stdout.startswith("+++ ") == 8
    assert contents(tree) == before


def test_jobs_must_be_positive(tmp_path: Path) -> None:
    proc = run("--jobs", "0", ".", cwd=tmp_path)
    assert outcome(proc) == (
        2, "", "asynclint: argument -j/--jobs: expected a positive number of processes, got '0'\n"
    )  # fmt: skip


def run_in_process(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["--no-cache", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_spawned_workers_give_the_same_output(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    serial = run_in_process("--jobs", "1", "--output-format", "json", ".")
    monkeypatch.setattr(parallel, "START_METHOD", "spawn")
    assert run_in_process("--jobs", "2", "--output-format", "json", ".") == serial


def test_an_internal_error_in_a_worker_is_one_line(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from asynclint.rules.blocking_sleep import BlockingSleep

    def visit_Call(self: object, node: object) -> None:  # libcst finds visitors by their name
        raise RuntimeError("boom")

    monkeypatch.chdir(tree)
    # forked workers inherit the patched rule
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    monkeypatch.setattr(BlockingSleep, "visit_Call", visit_Call)
    serial = run_in_process("--jobs", "1", "--select", "ASL200", ".")
    assert serial[0] == 2
    # clean_async.py is not among them: it has no call ASL200 could report, so the ast gate keeps
    # it from libcst and the rule never runs there
    assert serial[2].splitlines() == [
        "asynclint: pkg/ASL200_aliases.py: internal error: RuntimeError: boom",
        "asynclint: pkg/ASL210_run_in_executor.py: internal error: RuntimeError: boom",
        "asynclint: pkg/ASL240.py: internal error: RuntimeError: boom",
        "asynclint: pkg/sub/ASL200.py: internal error: RuntimeError: boom",
        "asynclint: pkg/sub/ASL200_trio.py: internal error: RuntimeError: boom",
        "asynclint: pkg/sub/ASL210_trio.py: internal error: RuntimeError: boom",
    ]
    assert run_in_process("--jobs", "2", "--select", "ASL200", ".") == serial


def test_a_crashed_worker_leaves_its_files_to_the_parent(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    serial = run_in_process("--jobs", "1", "--output-format", "json", ".")
    parent = os.getpid()
    real = parallel.process_file

    def crash_in_worker(*args: object, **kwargs: object) -> parallel.FileOutcome:
        if os.getpid() != parent:
            os._exit(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    monkeypatch.setattr(parallel, "process_file", crash_in_worker)
    assert run_in_process("--jobs", "2", "--output-format", "json", ".") == serial


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers through /proc")
def test_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    for n in range(10):
        make_tree(tmp_path / f"copy{n}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "asynclint", "--jobs", "2", "--output-format", "json", "."],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # a suite started in the background (``cmd &`` in a script, as CI may do) inherits SIGINT
        # ignored, and Python then never raises KeyboardInterrupt: give the run a terminal's default
        preexec_fn=_default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while len(workers := children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the workers are parsing
    assert proc.poll() is None, "the run ended before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends: to the parent and its workers
    started = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stdout, stderr) == (130, "", "")
    assert time.monotonic() - started < 10  # not the whole run (about 6 s on 2 CPUs)
    assert len(workers) == 2 and not any(Path(f"/proc/{w}").exists() for w in workers)


def test_workers_send_back_results_without_trees(tree: Path) -> None:
    from asynclint.api import discover_files
    from asynclint.config import Config
    from asynclint.engine import Result
    from asynclint.rule import Safety

    config = Config(root=tree)
    options = parallel.Options(config, ("ASL200", "ASL210"), edits=True)
    pooled = list(parallel.run_files(discover_files([str(tree)], config), options, 2))
    serial = list(parallel.run_files(discover_files([str(tree)], config), options, 1))
    assert [o.path for o in pooled] == [o.path for o in serial]
    by_path = {o.path: o.result for o in pooled}
    parsed = by_path[str(tree / "pkg" / "sub" / "ASL200.py")]
    assert parsed is not None and parsed.module is None and parsed.findings
    finding = parsed.findings[0]
    assert finding.node is None and isinstance(finding.fix, parallel.PrecomputedFix)
    assert finding.fix.safety is Safety.SAFE and finding.fix.edits
    # a file no rule can match is done in the parent, as in a serial run
    plain = str(tree / "pkg" / "no_async.py")
    assert by_path[plain] == Result(plain, source=NO_ASYNC.encode())


def test_no_process_pool_means_a_serial_run(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    def unavailable(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # what a missing /dev/shm gives

    monkeypatch.chdir(tree)
    serial = run_in_process("--jobs", "1", ".")
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", unavailable)
    assert run_in_process("--jobs", "2", ".") == serial
