"""The lock fixes never deadlock and never lose what is around them (cases from a review of the
read-modify-write span fixes): fixed modules are run on a thread pool with a timeout."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HELPER_RMW = textwrap.dedent(
    """\
    import pathlib
    from concurrent.futures import ThreadPoolExecutor

    P = pathlib.Path(__file__).with_name("state.txt")


    def bump():
        d = P.read_text()
        P.write_text(d + "x")


    def view(i):
        if P.exists():
            bump()


    if __name__ == "__main__":
        P.write_text("")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(view, range(50)))
        print(len(P.read_text()))
    """
)

CACHE_IN_CACHE = textwrap.dedent(
    """\
    from concurrent.futures import ThreadPoolExecutor

    CACHE = {}


    def lookup(k):
        if k not in CACHE:
            CACHE[k] = k * 2
        return CACHE[k]


    def view(k):
        if k not in CACHE:
            CACHE[k] = lookup(k) + 1
        return CACHE[k]


    if __name__ == "__main__":
        with ThreadPoolExecutor(4) as pool:
            print(sum(pool.map(view, range(50))))
    """
)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL3", *args],
        cwd=cwd, capture_output=True, text=True, env=env,
    )


def run_module(path: Path) -> str:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_helper_with_its_own_read_modify_write_inside_a_callers_span_does_not_deadlock(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(HELPER_RMW)
    assert cli("mod.py", cwd=tmp_path).stdout.count("ASL300") == 2
    fixed = cli("--fix", "--unsafe-fixes", "mod.py", cwd=tmp_path)
    assert fixed.returncode == 1  # one finding stays: its fix would take the lock a second time
    text = path.read_text()
    assert text.count("with _state_lock:") == 1
    assert run_module(path) == "50"  # ends (no self-deadlock), every update kept
    assert cli("--fix", "--unsafe-fixes", "mod.py", cwd=tmp_path).stdout.count("Fixed") == 0


def test_check_then_act_in_caller_and_callee_does_not_deadlock(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(CACHE_IN_CACHE)
    before = run_module(path)
    fixed = cli("--fix", "--unsafe-fixes", "mod.py", cwd=tmp_path)
    assert (fixed.returncode, fixed.stdout) == (0, "Fixed 1 error. Found 0 remaining errors.\n")
    text = path.read_text()
    assert "    with _cache_lock:\n        if k not in CACHE:\n            CACHE[k] = lookup(k) + 1\n" in text
    assert "def lookup(k):\n    if k not in CACHE:" in text  # reached only under the lock now
    assert run_module(path) == before


def test_span_across_a_yield_is_reported_without_a_fix(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(textwrap.dedent(
        """\
        import pathlib
        from flask import Flask

        app = Flask(__name__)
        P = pathlib.Path("log.txt")


        @app.get("/stream")
        def stream():
            d = P.read_text()
            for line in d.splitlines():
                yield line
            P.write_text(d + "seen")
        """
    ))
    out = cli("mod.py", cwd=tmp_path).stdout
    assert out.splitlines()[0].startswith("mod.py:13:5: ASL300 `P.read_text()` at line 10")
    assert out.splitlines()[1] == "Found 1 error."  # no fix: the lock would be held while the client reads


def test_opening_an_existing_with_keeps_its_comments(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent(
        """\
        import pathlib
        import threading
        from flask import Flask

        app = Flask(__name__)
        P = pathlib.Path("log.txt")
        _state_lock = threading.Lock()


        @app.post("/w")
        def w():
            d = P.read_text()
            # guard the write
            with _state_lock:  # the lock
                P.write_text(d + "w")
        """
    ))
    assert cli("--fix", "--unsafe-fixes", "mod.py", cwd=tmp_path).returncode == 0
    assert path.read_text().endswith(
        "    with _state_lock:\n"
        "        d = P.read_text()\n"
        "        # guard the write\n"
        "        # the lock\n"
        "        P.write_text(d + \"w\")\n"
    )


def test_read_and_write_in_exclusive_branches_is_a_plain_write(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(textwrap.dedent(
        """\
        import pathlib
        from flask import Flask, request

        app = Flask(__name__)
        P = pathlib.Path("log.txt")


        @app.post("/h")
        def h():
            if request.args.get("q"):
                return P.read_text()
            else:
                P.write_text("x")
            return "ok"
        """
    ))
    line = cli("mod.py", cwd=tmp_path).stdout.splitlines()[0]
    assert line.startswith("mod.py:13:9: ASL300 `P.write_text(\"x\")` writes the shared file `P` in `h()`")


def test_local_rebound_before_the_store_is_not_a_read_modify_write(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(textwrap.dedent(
        """\
        from concurrent.futures import ThreadPoolExecutor

        COUNTS = {}


        def reassigned(k):
            n = COUNTS.get(k, 0)
            print(n)
            n = 5
            COUNTS[k] = n


        with ThreadPoolExecutor() as pool:
            list(pool.map(reassigned, range(3)))
        """
    ))
    out = cli("mod.py", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "All checks passed!\n")
