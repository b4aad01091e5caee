"""Bounded cost: how asynclint's time and memory grow with the size of a file, for the shapes that
once went quadratic or crashed (issue 9). Whole processes; each size is twice the one before, so a
linear cost shows a time ratio near 2 per step.

    python benchmarks/scaling.py [--shapes list,plus,...] [--steps N] [--scale F] [--runs N]

Shapes (each file also holds one `time.sleep` in a coroutine, so the file is parsed and has a
finding):

    list        `x = [1, 1, ...]`: one list literal of n items (the issue's 300,000 is --scale 8)
    plus        `x = 1 + 1 + ...`: n terms; past 1,000 levels CPython itself cannot compile it and
                asynclint says so in one line ("nested too deeply to check")
    strings     an implicit concatenation of n string literals (libcst's parser stops at 3,000)
    minus       `x = ---...-1`: n unary minus signs (segfaulted at 25,000 before)
    coroutines  n small coroutines each with `time.sleep`: lint and `--fix` (200 s for 5,000 before)
    lines       n short statements at module level

Reports median wall seconds, peak resident memory of the process (MB), the exit code, and the time
ratio to the previous size. Run by hand; never in CI.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

HEAD = "import time\n\n\nasync def handler():\n    time.sleep(1)\n\n\n"


def shape_list(n: int) -> str:
    return HEAD + "x = [" + ", ".join("1" for _ in range(n)) + "]\n"


def shape_plus(n: int) -> str:
    return HEAD + "x = " + " + ".join("1" for _ in range(n)) + "\n"


def shape_strings(n: int) -> str:
    return HEAD + "x = (\n" + "".join(f'    "s{i}"\n' for i in range(n)) + ")\n"


def shape_minus(n: int) -> str:
    return HEAD + "x = " + "-" * n + "1\n"


def shape_coroutines(n: int) -> str:
    return "import time\n" + "".join(f"\n\nasync def handler_{i}():\n    time.sleep(0)\n" for i in range(n))


def shape_lines(n: int) -> str:
    return HEAD + "".join(f"v{i} = {i}\n" for i in range(n))


#: shape -> (builder, first size, also time --fix)
SHAPES: dict[str, tuple[Callable[[int], str], int, bool]] = {
    "list": (shape_list, 37_500, False),
    "plus": (shape_plus, 3_750, False),
    "strings": (shape_strings, 600, False),
    "minus": (shape_minus, 3_125, False),
    "coroutines": (shape_coroutines, 625, True),
    "lines": (shape_lines, 12_500, False),
}


def measure(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and the exit code of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--steps", type=int, default=4, help="sizes per shape (each twice the one before)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the first sizes")
    parser.add_argument("--runs", type=int, default=1, help="runs per size (median)")
    args = parser.parse_args(argv)
    base = [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL200"]
    print(f"{'shape':12} {'mode':5} {'n':>9} {'bytes':>10} {'seconds':>8} {'ratio':>6} {'MB':>7} {'exit':>4}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.shapes.split(","):
            build, first, fix_too = SHAPES[name]
            for mode in ("lint", "fix") if fix_too else ("lint",):
                previous = None
                for step in range(args.steps):
                    n = int(first * args.scale) * 2**step
                    text = build(n)
                    path = work / f"{name}.py"
                    samples = []
                    for _ in range(args.runs):
                        path.write_text(text)
                        cmd = [*base, *(["--fix"] if mode == "fix" else []), path.name]
                        samples.append(measure(cmd, work))
                    seconds = statistics.median(s[0] for s in samples)
                    peak = max(s[1] for s in samples)
                    code = samples[-1][2]
                    ratio = f"{seconds / previous:6.2f}" if previous else "     -"
                    print(f"{name:12} {mode:5} {n:>9} {len(text):>10} {seconds:8.2f} {ratio} {peak:7.0f} {code:>4}",
                          flush=True)
                    previous = seconds
    return 0


if __name__ == "__main__":
    sys.exit(main())
