"""ASL290's cost as a project grows: a generated package of N modules whose coroutines call sync
helpers that call into other modules (a few of them reach a blocking call), linted whole, cold and
then warm (the result cache filled by the first run). Time per module should stay flat from 200 to
2,000 modules, and the warm run should cost little more than reading the files.

    python benchmarks/callgraph_scaling.py [--sizes 200,500,1000,2000] [--runs N]

Whole processes (``python -m asynclint``), medians of ``--runs``; the projects are generated in a
temporary folder. Run by hand; never in CI.
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


def module_text(i: int, n: int) -> str:
    """Module ``m{i}``: three sync helpers (one calls a helper of an older module, one of them
    blocks in every tenth module) and a coroutine calling one of them and a pure function."""
    lines = ["import json", "import os", ""]
    older = [j for j in (i // 2, i - 1, i // 3) if 0 <= j < i]
    for j in sorted(set(older)):
        lines.append(f"from app import m{j:04d}")
    lines.append("")
    lines.append("")
    lines.append("def load(path):")
    if i % 10 == 0:
        lines.append("    with open(path) as fh:")
        lines.append("        return json.load(fh)")
    else:
        lines.append("    return json.loads(path)")
    lines.append("")
    lines.append("")
    lines.append("def fetch(key):")
    if older:
        lines.append(f"    return m{older[0]:04d}.load(key)")
    else:
        lines.append("    return load(key)")
    lines.append("")
    lines.append("")
    lines.append("def render(value):")
    lines.append("    return json.dumps({'v': value, 'pid': os.getpid()})")
    lines.append("")
    lines.append("")
    lines.append("async def handler(key):")
    lines.append("    value = fetch(key)")
    lines.append("    return render(value)")
    return "\n".join(lines) + "\n"


def generate(root: Path, n: int) -> None:
    package = root / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for i in range(n):
        (package / f"m{i:04d}.py").write_text(module_text(i, n))


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"asynclint failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return elapsed, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,500,1000,2000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--select", default="ASL290", help="rules (default: ASL290 alone)")
    args = parser.parse_args(argv)
    print(f"{'modules':>8} {'cold s':>8} {'ms/module':>10} {'warm s':>8} {'ms/module':>10}  findings")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            generate(root, n)
            cmd = [sys.executable, "-m", "asynclint", "--select", args.select, "app"]
            colds, warms = [], []
            summary = ""
            for run in range(args.runs):
                env = {**os.environ, "ASYNCLINT_CACHE_DIR": str(root / f"cache{run}")}
                cold, summary = measure(cmd, root, env)
                warm, _ = measure(cmd, root, env)
                colds.append(cold)
                warms.append(warm)
            cold_m, warm_m = statistics.median(colds), statistics.median(warms)
            print(f"{n:8d} {cold_m:8.2f} {1000 * cold_m / n:10.2f} {warm_m:8.2f} {1000 * warm_m / n:10.2f}  {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
