"""The ``asynclint`` command line: argument parsing, the run loop over files, exit codes."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence, TextIO

from asynclint import __version__, parallel, registry, terminal
from asynclint.config import Config, ConfigError, find_config_file, load_file
from asynclint.files import discover_files
from asynclint.model import Result
from asynclint.output import FORMATS, Report, printable, render

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, no usage dump
        raise UsageError(message)


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of processes, got {value!r}")
    return jobs


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="asynclint",
        description="Find and fix async/sync misuse: blocking calls in coroutines, unawaited "
        "coroutines, dangling tasks, races in threaded handlers.",
        epilog="Subcommands: 'asynclint rules' lists the rules; 'asynclint rule ASL200' shows one rule's docs; "
        "'asynclint concurrency [PATH]' lists the threaded and async entry points, their pools and locks.",
        allow_abbrev=False,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .)")
    p.add_argument("--select", type=_codes, help="comma-separated code prefixes to enable (replaces the configured set)")
    p.add_argument("--extend-select", type=_codes, default=[], help="code prefixes to enable in addition")
    p.add_argument("--ignore", type=_codes, default=[], help="code prefixes to disable")
    p.add_argument("--config", type=Path, help="read configuration from this TOML file")
    p.add_argument("--fix", action="store_true", help="apply safe fixes (with --unsafe-fixes, unsafe ones too)")
    p.add_argument("--unsafe-fixes", action="store_true", help="include unsafe fixes: applied with --fix, shown as fixable otherwise")
    p.add_argument("--diff", action="store_true", help="print the diff --fix would make and write nothing")
    p.add_argument("--exit-non-zero-on-fix", action="store_true", help="exit 1 when any file was fixed")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    p.add_argument(
        "--output-format",
        choices=FORMATS,
        default=os.environ.get("ASYNCLINT_OUTPUT_FORMAT") or "text",
        help="text (default), concise, json, github or sarif; ASYNCLINT_OUTPUT_FORMAT sets the default",
    )
    p.add_argument("--statistics", action="store_true", help="count findings per rule instead of listing them")
    p.add_argument(
        "--color",
        choices=terminal.COLOR_CHOICES,
        default="auto",
        help="colour and the full view with source excerpts: auto (default: on a terminal; NO_COLOR, FORCE_COLOR), always or never",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=parallel.default_jobs(),
        metavar="N",
        help="check files in N processes (default: one per CPU; 1: no worker processes)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the result cache (.asynclint_cache/ in the project root, or $ASYNCLINT_CACHE_DIR)",
    )
    p.add_argument("--version", action="version", version=f"asynclint {__version__}")
    return p


def _rules_command(argv: Sequence[str], out: TextIO) -> int:
    if argv[0] == "rules":
        for rule in registry.all_rules():
            fix = f" [{rule.fix_safety.value} fix]" if rule.fix_safety else ""
            out.write(f"{rule.code}  {rule.slug:<28} {rule.summary()}{fix}\n")
        return EXIT_CLEAN
    if len(argv) != 2:
        raise UsageError("usage: asynclint rule CODE")
    found = registry.lookup(argv[1])
    if found is None:
        raise UsageError(f"unknown rule {argv[1]!r} (see 'asynclint rules')")
    from asynclint.docs import render_rule

    out.write(render_rule(found))
    return EXIT_CLEAN


def _make_config(args: argparse.Namespace) -> Config:
    first = Path(args.paths[0]) if args.paths else Path.cwd()
    source = args.config or find_config_file(first if first.exists() else Path.cwd())
    config = load_file(source) if source is not None else Config()
    if source is not None:
        try:
            registry.check_config(config)  # the file's own codes: an error names the file
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    if args.select is not None:
        config.select = args.select
        config.extend_select = []
    config.extend_select = [*config.extend_select, *args.extend_select]
    config.ignore = [*config.ignore, *args.ignore]
    registry.check_config(config)
    return config


def _err(err: TextIO, message: str) -> None:
    err.write(printable(f"asynclint: {message}\n"))


def _encodable(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return True
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:
        return True
    return True


def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if argv and argv[0] in ("rule", "rules") and not Path(argv[0]).exists():
        return _rules_command(argv, out)
    if argv and argv[0] == "concurrency" and not Path(argv[0]).exists():
        from asynclint import concurrency_report

        return concurrency_report.run(argv[1:], out, err)
    if argv and argv[0] == "server" and not Path(argv[0]).exists():
        from asynclint import server  # pygls is imported there, only for this subcommand

        return server.run(argv[1:], out, err)
    args = build_parser().parse_args(argv)
    if args.output_format not in FORMATS:  # argparse checks choices for given options, not defaults
        raise UsageError(
            f"ASYNCLINT_OUTPUT_FORMAT: invalid choice {args.output_format!r} (choose from {', '.join(FORMATS)})"
        )
    display = terminal.choose(out, args.color)  # colour and the full view: only on a terminal or when forced
    if args.diff and args.fix:
        # --diff wins: show what would change, write nothing (ruff does the same)
        args.fix = False
    config = _make_config(args)
    paths = args.paths or ["."]
    for raw in paths:
        # lexists: a symlink loop or a dangling link is reported by read_file, with the other files
        if not os.path.lexists(raw):
            raise UsageError(f"{raw}: no such file or directory")
    fixing = args.fix or args.diff
    report = Report(unsafe_hidden=not args.unsafe_fixes)
    failed = False
    changed_files = 0
    options = parallel.Options(
        config=config,
        codes=tuple(registry.enabled_codes(config)),
        mode="diff" if args.diff else "fix" if args.fix else "lint",
        unsafe=args.unsafe_fixes,
        edits=args.output_format in ("json", "sarif") or display.shows_fixes(args.output_format, args.statistics),
        cache=not args.no_cache,
    )
    for outcome in terminal.progress(parallel.run_files(discover_files(paths, config), options, args.jobs), err):
        if outcome.read_error is not None:
            _err(err, f"{outcome.path}: {outcome.read_error}")
            failed = True
            report.unreadable.append((outcome.path, outcome.read_error))
            report.errors += 1
            continue
        result = outcome.result if outcome.result is not None else Result(path=outcome.path)
        reported = False
        if fixing:
            if outcome.fix_error is not None:
                _err(err, outcome.fix_error)  # starts with the path
                failed = reported = True
                report.errors += 1
            if outcome.changed:
                changed_files += 1
                if outcome.diff is not None:
                    out.write(printable(outcome.diff))
                elif outcome.write_error is not None:
                    # nothing was written: the file's findings are still there and are reported
                    _err(err, outcome.write_error)
                    failed = True
                    report.unwritten += 1
                    report.results.append(result)
                    continue
                report.fixed += outcome.fixed
            if args.diff:
                # a file --fix could not parse must not pass as "nothing to change"
                for finding in result.findings:
                    if finding.code == registry.SYNTAX_ERROR_CODE:
                        _err(err, f"{finding.path}:{finding.line}:{finding.col}: {finding.message}; not fixed")
                        failed = True
                continue
        if result.error is not None and not reported:
            _err(err, f"{outcome.path}: {result.error}")
            failed = True
            report.errors += 1
        report.results.append(result)
    if args.diff:
        if changed_files:
            err.write(f"Would fix {changed_files} file{'s' if changed_files != 1 else ''}.\n")
        return EXIT_ERROR if failed else (EXIT_FOUND if changed_files else EXIT_CLEAN)
    text = render(report, args.output_format, statistics=args.statistics, display=display)
    if args.output_format == "json" and not _encodable(out, text):
        # an ASCII-only stdout (LC_ALL=C): escapes keep the JSON valid where backslashreplace would not
        text = render(report, args.output_format, ascii_only=True)
    out.write(text)
    if failed:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    if report.findings or (args.exit_non_zero_on_fix and report.fixed):
        return EXIT_FOUND
    return EXIT_CLEAN


def _tolerant_streams() -> None:
    """File names and messages that the terminal's encoding cannot show (an ASCII-only locale) are
    written as backslash escapes instead of ending the run with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream
                pass


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    try:
        return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)
    except (UsageError, ConfigError) as exc:
        _err(sys.stderr, str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
