"""Real-world corpus: asynclint on pinned real projects, with judged precision per rule.

    python benchmarks/realworld.py [fetch|run|report|fixcheck|all] [options]

    fetch      download the pinned source distributions (pip download) and unpack them
    run        lint every project (all rules, or --select) and save the findings
    report     findings per rule and per project; judged precision per rule from the verdicts
               file; the findings nobody has judged yet (--unjudged N lists them)
    fixcheck   lint with every rule, copy the files that have findings, run `--fix --unsafe-fixes`
               and check every changed file: it compiles, a second --fix changes nothing, no rule
               has more findings in it after than before (a fix must never add findings), and
               `ruff check --select F` finds no more than before. `--stdlib` adds the running
               Python's standard library.
    all        fetch, run, report (the default)

Run by hand, not in CI: it needs the network for `fetch` and takes minutes. The projects are kept
in a cache folder outside git: $ASYNCLINT_CORPUS_DIR, default ~/.cache/asynclint-corpus. The
verdicts live in benchmarks/realworld_verdicts.csv (project, path, line, code, verdict, reason);
verdict is `tp` (a maintainer would act on it), `fp` (wrong) or `debatable` (a real pattern the
maintainer might still decline: one-shot startup I/O, a declined upstream change). The report gives
precision = tp / (tp + fp), the default-set criterion (>= 0.95), beside strict = tp / judged.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERDICTS = HERE / "realworld_verdicts.csv"
CACHE = Path(os.environ.get("ASYNCLINT_CORPUS_DIR", Path.home() / ".cache" / "asynclint-corpus"))

#: Home Assistant is ~1 M lines: a fixed set of its integrations (async and executor-heavy ones)
HA_COMPONENTS = (
    "api", "backup", "camera", "cloud", "deconz", "esphome", "ffmpeg", "homekit", "http", "hue",
    "met", "mqtt", "nest", "octoprint", "plex", "recorder", "ring", "roku", "shelly", "sonos",
    "spotify", "synology_dsm", "tado", "telegram_bot", "tplink", "unifi", "xiaomi_miio", "yeelight",
)


@dataclass(frozen=True)
class Project:
    name: str  # distribution name as pip knows it
    version: str
    kind: str  # what it stands for in the corpus
    #: paths inside the unpacked sdist to lint (default: all of it)
    include: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


PROJECTS = (
    Project("aiohttp", "3.9.5", "async web framework, examples/ apps, tests"),
    Project("fastapi", "0.110.0", "web framework; docs_src/ holds ~1,000 example apps (async and def endpoints)"),
    Project("starlette", "0.37.2", "ASGI toolkit and tests"),
    Project("sanic", "23.12.1", "async web framework and tests"),
    Project("quart", "0.19.5", "async Flask"),
    Project("flask", "3.0.3", "threaded WSGI framework, examples/ apps"),
    Project("gunicorn", "22.0.0", "threaded/async WSGI server, examples/"),
    Project("uvicorn", "0.29.0", "ASGI server"),
    Project("websockets", "12.0", "async protocol library"),
    Project("python-telegram-bot", "21.1.1", "async bot framework"),
    Project("discord.py", "2.3.2", "async bot framework"),
    Project("aiogram", "3.4.1", "async bot framework, examples/ bots"),
    Project("slack_bolt", "1.18.1", "bot framework, threaded (sync) and async listeners"),
    Project("redis", "5.0.4", "database client, sync and asyncio APIs"),
    Project("motor", "3.4.0", "async MongoDB client wrapping a threaded one"),
    Project("celery", "5.4.0", "task queue, threads and examples/"),
    Project("arq", "0.25.0", "async task queue"),
    Project("channels", "4.1.0", "Django async layer (sync_to_async, consumers)"),
    Project("azure-functions-durable", "1.2.9", "Azure Functions durable SDK and samples/ function apps"),
    Project("homeassistant", "2024.1.0", "Home Assistant integrations (a fixed subset)",
            tuple(f"homeassistant/components/{c}" for c in HA_COMPONENTS)),
)


def project_paths(project: Project) -> list[Path]:
    root = CACHE / "src" / project.folder
    if not project.include:
        return [root]
    return [root / p for p in project.include if (root / p).exists()]


# -- fetch ------------------------------------------------------------------------------------
def fetch(projects: tuple[Project, ...]) -> None:
    sdists = CACHE / "sdists"
    src = CACHE / "src"
    sdists.mkdir(parents=True, exist_ok=True)
    src.mkdir(parents=True, exist_ok=True)
    for project in projects:
        if (src / project.folder).is_dir():
            continue
        archive = _find_archive(sdists, project)
        if archive is None:
            print(f"downloading {project.name}=={project.version}", file=sys.stderr)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 f"{project.name}=={project.version}", "-d", str(sdists)],
                check=True,
            )
            archive = _find_archive(sdists, project)
            if archive is None:
                raise SystemExit(f"no source distribution of {project.name}=={project.version} in {sdists}")
        _unpack(archive, src, project.folder)


def _find_archive(sdists: Path, project: Project) -> Path | None:
    wanted = {project.name.lower().replace("-", "_").replace(".", "_")}
    for path in sorted(sdists.iterdir()):
        stem = path.name
        for suffix in (".tar.gz", ".zip", ".tgz"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
        name, _, version = stem.rpartition("-")
        if version == project.version and name.lower().replace("-", "_").replace(".", "_") in wanted:
            return path
    return None


def _unpack(archive: Path, src: Path, folder: str) -> None:
    with tempfile.TemporaryDirectory(dir=src) as tmp:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
        (top,) = list(Path(tmp).iterdir())
        top.rename(src / folder)


# -- run --------------------------------------------------------------------------------------
def lint(paths: list[Path], extra: list[str], cwd: Path | None = None) -> list[dict]:
    cmd = [sys.executable, "-m", "asynclint", "--exit-zero", "--output-format", "json", *extra, *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    # exit 2 with one-line errors (a file nested too deeply, unreadable) still lints the rest
    if proc.returncode not in (0, 2) or "Traceback" in proc.stderr or not proc.stdout:
        raise SystemExit(f"asynclint failed ({proc.returncode}) on {paths[0]}:\n{proc.stderr[-2000:]}")
    if proc.stderr.strip():
        print(proc.stderr.strip()[-2000:], file=sys.stderr)
    return json.loads(proc.stdout or "[]")


def run(projects: tuple[Project, ...], extra: list[str], out: Path) -> list[dict]:
    findings: list[dict] = []
    started = time.monotonic()
    for project in projects:
        root = CACHE / "src" / project.folder
        t0 = time.monotonic()
        got = lint(project_paths(project), extra)
        for f in got:
            f["project"] = project.name
            f["path"] = str(Path(f["path"]).resolve().relative_to(root))
            f.pop("fix", None) if f.get("fix") is None else f.__setitem__("fix", f["fix"]["safety"])
        findings.extend(got)
        print(f"{project.name:24} {len(got):5} findings  {time.monotonic() - t0:6.1f} s", file=sys.stderr)
    print(f"{'all':24} {len(findings):5} findings  {time.monotonic() - started:6.1f} s", file=sys.stderr)
    out.write_text(json.dumps(findings, indent=1))
    return findings


# -- report -----------------------------------------------------------------------------------
Key = tuple[str, str, int, str]


def load_verdicts() -> dict[Key, tuple[str, str]]:
    verdicts: dict[Key, tuple[str, str]] = {}
    if not VERDICTS.exists():
        return verdicts
    with VERDICTS.open(newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row["project"], row["path"], int(row["line"]), row["code"])
            verdicts[key] = (row["verdict"], row["reason"])
    return verdicts


def key_of(f: dict, aliases: dict[str, str] | None = None) -> Key:
    code = f["code"]
    return (f["project"], f["path"], int(f["line"]), (aliases or {}).get(code, code))


def report(findings: list[dict], unjudged: int, show_wrong: bool, aliases: dict[str, str] | None = None) -> None:
    verdicts = load_verdicts()
    per_rule: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    per_project: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    waiting: list[dict] = []
    wrong: list[tuple[dict, str, str]] = []
    for f in findings:
        per_project[f["project"]][f["code"]] += 1
        counts = per_rule[f["code"]]
        counts["findings"] += 1
        verdict = verdicts.get(key_of(f, aliases))
        if verdict is None:
            counts["unjudged"] += 1
            waiting.append(f)
        else:
            counts[verdict[0]] += 1
            if verdict[0] != "tp":
                wrong.append((f, *verdict))
    codes = sorted(per_rule)
    print("\nFindings per project")
    print(f"{'project':24} {'all':>5}  " + " ".join(f"{c:>6}" for c in codes))
    for name in sorted(per_project):
        c = per_project[name]
        print(f"{name:24} {sum(c.values()):5}  " + " ".join(f"{c[code] or '':>6}" for code in codes))
    print("\nJudged precision per rule: precision = tp / (tp + fp); strict = tp / judged (debatable counts as wrong)")
    print(f"{'rule':7} {'found':>6} {'judged':>6} {'tp':>5} {'fp':>5} {'deb':>5} {'precision':>9} {'strict':>6}")
    total = collections.Counter()
    for code in codes:
        c = per_rule[code]
        judged = c["tp"] + c["fp"] + c["debatable"]
        total.update(c)
        print(f"{code:7} {c['findings']:6} {judged:6} {c['tp']:5} {c['fp']:5} {c['debatable']:5} {_ratios(c)}")
    judged = total["tp"] + total["fp"] + total["debatable"]
    print(f"{'all':7} {total['findings']:6} {judged:6} {total['tp']:5} {total['fp']:5} {total['debatable']:5} {_ratios(total)}")
    if show_wrong and wrong:
        print("\nJudged not right")
        for f, verdict, reason in wrong:
            print(f"  {verdict:9} {f['code']} {f['project']}/{f['path']}:{f['line']}  {reason}")
    if waiting:
        print(f"\n{len(waiting)} findings have no verdict yet")
        for f in waiting[:unjudged]:
            print(f"  {f['code']} {f['project']}/{f['path']}:{f['line']}:{f['column']} {f['message'][:160]}")


def _ratios(c: collections.Counter) -> str:
    decided = c["tp"] + c["fp"]
    judged = decided + c["debatable"]
    precision = f"{c['tp'] / decided:.2f}" if decided else "-"
    strict = f"{c['tp'] / judged:.2f}" if judged else "-"
    return f"{precision:>9} {strict:>6}"


# -- fixcheck ---------------------------------------------------------------------------------
def all_codes() -> str:
    proc = subprocess.run([sys.executable, "-m", "asynclint", "rules"], capture_output=True, text=True, check=True)
    return ",".join(line.split()[0] for line in proc.stdout.splitlines() if line.startswith("ASL"))


def fixcheck_targets(projects: tuple[Project, ...], stdlib: bool) -> list[tuple[str, Path, list[Path]]]:
    """(name, root, paths to lint) for each project, and the running Python's standard library."""
    targets = [(p.name, CACHE / "src" / p.folder, project_paths(p)) for p in projects]
    if stdlib:
        lib = Path(sysconfig.get_paths()["stdlib"])
        paths = [p for p in sorted(lib.iterdir()) if p.name not in ("site-packages", "dist-packages")]
        targets.append((f"stdlib-{sys.version_info[0]}.{sys.version_info[1]}", lib, paths))
    return targets


def ruff_f(paths: list[Path]) -> collections.Counter:
    """pyflakes findings (ruff's F rules) per (file, code)."""
    cmd = ["ruff", "check", "--isolated", "--no-cache", "--select", "F", "--output-format", "json", "--exit-zero",
           *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ruff failed ({proc.returncode}): {proc.stderr[-1000:]}")
    return collections.Counter((str(Path(d["filename"]).resolve()), d["code"]) for d in json.loads(proc.stdout or "[]"))


def fixcheck(targets: list[tuple[str, Path, list[Path]]], extra: list[str]) -> int:
    """--fix --unsafe-fixes on a copy of every file with a finding of any rule (asynclint checks one
    file at a time, so no other file can change). Every changed file: compiles, a second --fix
    changes nothing, no rule of asynclint has more findings in it than before, and ruff's pyflakes
    rules (F: undefined and unused names, redefinitions) find no more than before."""
    problems = 0
    work = CACHE / "fixcheck"
    shutil.rmtree(work, ignore_errors=True)
    totals = collections.Counter()
    for name, source_root, lint_paths in targets:
        t0 = time.monotonic()
        found = lint(lint_paths, extra)
        files = sorted({str(Path(f["path"]).resolve().relative_to(source_root)) for f in found})
        totals["files linted"] += len(_py_files(lint_paths))
        if not files:
            print(f"{name:24}    0 files with findings")
            continue
        root = work / name
        paths = []
        for rel in files:
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source_root / rel, target)
            paths.append(target)
        before_text = {p: p.read_bytes() for p in paths}
        before = lint(paths, extra)
        flakes_before = ruff_f(paths)
        cmd = [sys.executable, "-m", "asynclint", "--fix", "--unsafe-fixes", "--exit-zero", "--output-format", "json",
               *extra, *map(str, paths)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        refused = [line for line in proc.stderr.splitlines() if line.strip()]
        if proc.returncode != 0:
            # files --fix leaves alone say why (ASL001 files, a fix that would not compile): listed, not a crash
            for line in refused:
                print(f"  {line}")
            if "Traceback" in proc.stderr or proc.returncode not in (0, 1, 2):
                print(f"{name}: --fix crashed ({proc.returncode})")
                problems += 1
        after = lint(paths, extra)
        changed = [p for p, old in before_text.items() if p.read_bytes() != old]
        for p in changed:
            try:
                compile(p.read_bytes(), str(p), "exec")
            except SyntaxError as exc:
                print(f"{p}: fixed file does not compile: {exc}")
                problems += 1
        snapshot = {p: p.read_bytes() for p in changed}
        subprocess.run(cmd, capture_output=True, text=True)
        for p, text in snapshot.items():
            if p.read_bytes() != text:
                print(f"{p}: a second --fix changed the file again")
                problems += 1
        counts_before = collections.Counter((f["path"], f["code"]) for f in before)
        counts_after = collections.Counter((f["path"], f["code"]) for f in after)
        for key in sorted(counts_after):
            if counts_after[key] > counts_before[key]:
                print(f"{name}: {key[1]} grew from {counts_before[key]} to {counts_after[key]} in {key[0]}")
                problems += 1
        flakes_after = ruff_f(changed) if changed else collections.Counter()
        for key in sorted(flakes_after):
            if flakes_after[key] > flakes_before[key]:
                print(f"{name}: ruff {key[1]} grew from {flakes_before[key]} to {flakes_after[key]} in {key[0]}")
                problems += 1
        fixed = len(before) - len(after)
        totals.update({"files with findings": len(paths), "files fixed": len(changed), "findings": len(before),
                       "findings fixed": fixed, "files refused": len(refused)})
        print(f"{name:24} {len(changed):4} of {len(paths)} files changed, findings {len(before)} -> {len(after)}, "
              f"{len(refused)} not fixed with a reason  {time.monotonic() - t0:6.1f} s")
    print("\n" + ", ".join(f"{k}: {v}" for k, v in totals.items()) + f", problems: {problems}")
    return 1 if problems else 0


def gatecheck(targets: list[tuple[str, Path, list[Path]]], extra: list[str]) -> int:
    """Lint every target with the ``ast`` gate on and off (``ASYNCLINT_GATE=off``): the findings
    (code, place, message, fix) must be identical. Prints the time of each way."""
    different = 0
    for name, root, paths in targets:
        got = {}
        for way in ("on", "off"):
            os.environ["ASYNCLINT_GATE"] = way
            t0 = time.monotonic()
            findings = lint(paths, ["--no-cache", *extra], cwd=root)
            got[way] = sorted(json.dumps(f, sort_keys=True) for f in findings)
            print(f"{name:24} gate {way:3} {len(findings):5} findings  {time.monotonic() - t0:6.1f} s", file=sys.stderr)
        os.environ.pop("ASYNCLINT_GATE", None)
        if got["on"] != got["off"]:
            different += 1
            on, off = set(got["on"]), set(got["off"])
            for line in sorted(off - on)[:20]:
                print(f"{name}: only without the gate: {line}")
            for line in sorted(on - off)[:20]:
                print(f"{name}: only with the gate: {line}")
    print(f"{len(targets)} targets, {different} with different findings")
    return 1 if different else 0


def _py_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="all", choices=("fetch", "run", "report", "fixcheck", "gatecheck", "all"))
    parser.add_argument("--project", action="append", help="only these projects (repeatable)")
    parser.add_argument("--select", help="passed to asynclint (default: ASL, the default rules)")
    parser.add_argument("--default-rules", action="store_true", help="lint with the default rule set only")
    parser.add_argument("--findings", type=Path, default=None, help="findings file (default: in the cache folder)")
    parser.add_argument("--unjudged", type=int, default=40, help="list at most N unjudged findings")
    parser.add_argument("--stdlib", action="store_true", help="fixcheck: also the running Python's standard library")
    parser.add_argument("--wrong", action="store_true", help="list the findings judged fp or debatable")
    parser.add_argument("--verdicts-of", action="append", default=[], metavar="OLD=NEW",
                        help="look up verdicts of code OLD under NEW (an old findings file: ASL100=ASL104, since the "
                             "old broad ASL100 check is ASL104 now)")
    args = parser.parse_args()
    projects = PROJECTS
    if args.project:
        projects = tuple(p for p in PROJECTS if p.name in args.project)
    extra = [] if args.default_rules else ["--select", args.select or "ASL"]
    out = args.findings or CACHE / ("findings-default.json" if args.default_rules else "findings.json")
    if args.command in ("fetch", "all"):
        fetch(projects)
    if args.command == "fixcheck":
        # every rule, off-by-default ones too: a fix must add no finding of any rule
        fix_extra = ["--select", args.select] if args.select else ["--select", all_codes()]
        return fixcheck(fixcheck_targets(projects, args.stdlib), fix_extra)
    if args.command == "gatecheck":
        # every rule: the gate must not change a finding of any of them
        return gatecheck(fixcheck_targets(projects, args.stdlib), ["--select", args.select or all_codes()])
    if args.command in ("run", "all"):
        findings = run(projects, extra, out)
    else:
        findings = json.loads(out.read_text())
    if args.command in ("report", "all", "run"):
        aliases = dict(pair.split("=", 1) for pair in args.verdicts_of)
        report(findings, args.unjudged, args.wrong, aliases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
