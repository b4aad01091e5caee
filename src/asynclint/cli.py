"""The ``asynclint`` command line: argument parsing, the run loop over files, exit codes."""
from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
from pathlib import Path
from typing import Iterator, NoReturn, Sequence, TextIO

from asynclint import __version__, parallel, registry, showing, stdin, terminal
from asynclint.config import Config, ConfigError, find_config_file, load_file
from asynclint.files import discover_files, is_excluded
from asynclint.model import FileOutcome, Result
from asynclint.output import FORMATS, Report, printable, render, summary_line

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, no usage dump
        raise UsageError(message)


def _codes(value: str) -> list[str]:
    # as typed: the configuration's check upper-cases codes itself, and an error names what the
    # user wrote ('blocking-slep', not 'BLOCKING-SLEP')
    return [c.strip() for c in value.split(",") if c.strip()]


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of processes, got {value!r}")
    return jobs


def _patterns(value: str) -> list[str]:
    """Comma-separated gitignore-style patterns, checked as the ``exclude`` key checks them."""
    import pathspec

    patterns = [p.strip() for p in value.split(",") if p.strip()]
    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError as exc:  # pathspec's GitWildMatchPatternError
            raise argparse.ArgumentTypeError(f"invalid pattern {pattern!r} ({exc})") from None
    return patterns


def _target_version(value: str) -> str:
    version = value.strip().lower()
    digits = version.removeprefix("py")
    if not version.startswith("py") or not digits.isdigit() or len(digits) < 2:
        raise argparse.ArgumentTypeError(f"expected a value like 'py38' or 'py312', got {value!r}")
    return version


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="asynclint",
        description="Find and fix async/sync misuse: blocking calls in coroutines, unawaited "
        "coroutines, dangling tasks, races in threaded handlers.",
        epilog="Subcommands: 'asynclint rules' lists the rules; 'asynclint rule ASL200' shows one rule's docs; "
        "'asynclint concurrency [PATH]' lists the threaded and async entry points, their pools and locks; "
        "'asynclint server' is the language server for editors (LSP over stdio; pip install 'asynclint[lsp]').",
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
    p.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="check standard input (PATH '-', or no PATH) as if it were this file: the configuration, "
        "per-file-ignores and test-file rules apply to the name; --fix prints the fixed text",
    )
    p.add_argument("--show-settings", action="store_true", help="print the resolved configuration and the file it came from, then exit")
    p.add_argument("--show-files", action="store_true", help="print the files that would be checked, one per line, then exit")
    p.add_argument("--show-fixes", action="store_true", help="after the report, list per file and rule the fixes --fix applied (or would apply); on a terminal, also show each fixable finding's fix as a diff")
    p.add_argument("-q", "--quiet", action="count", default=0, help="print the findings only, no summary line; -qq: print nothing, as --silent")
    p.add_argument("-s", "--silent", action="store_true", help="print nothing (--diff and --statistics still print theirs); the exit code tells")
    p.add_argument("-o", "--output-file", type=Path, metavar="PATH", help="write the report to PATH instead of stdout (any --output-format)")
    p.add_argument(
        "--exclude",
        type=_patterns,
        action="extend",
        metavar="PATTERNS",
        help="comma-separated gitignore-style patterns of paths to skip; replaces the configured 'exclude'",
    )
    p.add_argument(
        "--extend-exclude",
        type=_patterns,
        action="extend",
        default=[],
        metavar="PATTERNS",
        help="patterns of paths to skip in addition to the configured ones",
    )
    p.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the excludes to the files and folders named on the command line (and --stdin-filename) too",
    )
    p.add_argument(
        "--target-version",
        type=_target_version,
        metavar="pyXY",
        help="the lowest Python the checked code runs on (py38, py312, ...); overrides 'target-version'",
    )
    p.add_argument(
        "--add-noqa",
        action="store_true",
        help="add '# noqa: CODE' to every line with a finding (writes the files) and say how many were added",
    )
    p.add_argument("-w", "--watch", action="store_true", help="check again whenever a checked file changes; Ctrl-C stops")
    p.add_argument("--version", action="version", version=f"asynclint {__version__}")
    return p


def _rules_command(argv: Sequence[str], out: TextIO) -> int:
    """``asynclint rules`` and ``asynclint rule CODE``; ``--output-format json``: one JSON object per
    rule (code, name, summary, fix_safety, enabled_by_default, url, explanation), a list for ``rules``."""
    usage = "usage: asynclint rules [--output-format text|json]" if argv[0] == "rules" else (
        "usage: asynclint rule CODE [--output-format text|json]"
    )
    words, output_format = list(argv[1:]), "text"
    for i, word in enumerate(words):
        if word == "--output-format" or word.startswith("--output-format="):
            value = word.partition("=")[2] if "=" in word else (words[i + 1] if i + 1 < len(words) else None)
            if value is None:
                raise UsageError("--output-format: expected one argument")
            del words[i : i + (1 if "=" in word else 2)]
            if value not in ("text", "json"):
                raise UsageError(f"--output-format: invalid choice {value!r} (choose from text, json)")
            output_format = value
            break
    if len(words) != (0 if argv[0] == "rules" else 1) or any(w.startswith("-") for w in words):
        raise UsageError(usage)
    from asynclint.docs import anchor, render_rule

    if argv[0] == "rules":
        rules = list(registry.all_rules())
    else:
        found = registry.lookup(words[0])
        if found is None:
            raise UsageError(f"unknown rule {words[0]!r} (see 'asynclint rules')")
        rules = [found]
    if output_format == "json":
        import json

        from asynclint.links import rules_doc_url

        items = [
            {
                "code": rule.code,
                "name": rule.slug,
                "summary": rule.summary(),
                "fix_safety": rule.fix_safety.value if rule.fix_safety else None,
                "enabled_by_default": rule.default,
                "url": f"{rules_doc_url()}#{anchor(rule)}",
                "explanation": render_rule(rule),
            }
            for rule in rules
        ]
        out.write(json.dumps(items if argv[0] == "rules" else items[0], indent=2, ensure_ascii=False) + "\n")
    elif argv[0] == "rules":
        for rule in rules:
            fix = f" [{rule.fix_safety.value} fix]" if rule.fix_safety else ""
            out.write(f"{rule.code}  {rule.slug:<28} {rule.summary()}{fix}\n")
    else:
        out.write(render_rule(rules[0]))
    return EXIT_CLEAN


def _reads_stdin(args: argparse.Namespace) -> bool:
    return bool(args.paths == ["-"] or (not args.paths and args.stdin_filename is not None))


def _stdin_name(args: argparse.Namespace) -> str:
    from asynclint import stdin

    return str(args.stdin_filename) if args.stdin_filename is not None else stdin.DEFAULT_NAME


def _config_source(args: argparse.Namespace) -> Path | None:
    """The configuration file of the run: --config, or the one nearest the first path (for standard
    input, nearest --stdin-filename, which need not exist)."""
    if args.config:
        return Path(args.config)
    if _reads_stdin(args):
        named = Path(args.stdin_filename) if args.stdin_filename else Path.cwd()
        return find_config_file(named if named.exists() or named.parent.is_dir() else Path.cwd())
    first = Path(args.paths[0]) if args.paths else Path.cwd()
    return find_config_file(first if first.exists() else Path.cwd())


def _check_flags(args: argparse.Namespace) -> None:
    """The combinations of options that mean nothing, as one usage error."""
    if "-" in args.paths and args.paths != ["-"]:
        raise UsageError("'-' (standard input) cannot be combined with other paths")
    if args.stdin_filename is not None and args.paths not in ([], ["-"]):
        raise UsageError("--stdin-filename names standard input: give '-' or no PATH")
    clashes = [
        ("--add-noqa", args.add_noqa, "--fix", args.fix),
        ("--add-noqa", args.add_noqa, "--diff", args.diff),
        ("--add-noqa", args.add_noqa, "--watch", args.watch),
        ("--add-noqa", args.add_noqa, "standard input", _reads_stdin(args)),
        ("--watch", args.watch, "standard input", _reads_stdin(args)),
        ("--show-fixes", args.show_fixes, "--diff", args.diff),
    ]
    for first, given, second, also in clashes:
        if given and also:
            raise UsageError(f"{first} cannot be used with {second}")


def _make_config(args: argparse.Namespace) -> Config:
    source = _config_source(args)
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
    if args.exclude is not None:
        config.exclude = args.exclude
    config.extend_exclude = [*config.extend_exclude, *args.extend_exclude]
    if args.target_version is not None:
        config.target_version = args.target_version
    registry.check_config(config)
    # the command line's codes as the configuration file's are kept: upper case (checked as typed)
    config.select = [c.upper() for c in config.select]
    config.extend_select = [c.upper() for c in config.extend_select]
    config.ignore = [c.upper() for c in config.ignore]
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


def run(argv: Sequence[str], out: TextIO, err: TextIO, watching: bool = False) -> int:
    """One run of the command line; ``watching``: a check that --watch repeats (it does not watch)."""
    if argv and argv[0] in ("rule", "rules") and not Path(argv[0]).exists():
        return _rules_command(argv, out)
    if argv and argv[0] == "concurrency" and not Path(argv[0]).exists():
        from asynclint import concurrency_report

        return concurrency_report.run(argv[1:], out, err)
    if argv and argv[0] == "server" and not Path(argv[0]).exists():
        # pygls is imported there, only for this subcommand
        from asynclint import server

        return server.run(argv[1:], out, err)
    args = build_parser().parse_args(argv)
    if args.output_format not in FORMATS:  # argparse checks choices for given options, not defaults
        raise UsageError(
            f"ASYNCLINT_OUTPUT_FORMAT: invalid choice {args.output_format!r} (choose from {', '.join(FORMATS)})"
        )
    _check_flags(args)
    piped = _reads_stdin(args)
    if args.silent or args.quiet >= 2:
        args.quiet, err = 2, io.StringIO()  # not even errors: the exit code tells (usage errors still print)
    if args.output_file is not None and getattr(args, "color", None) == "auto":
        args.color = "never"  # a file is no terminal
    # colour and the full view: only on a terminal or when forced; no excerpts of standard input
    # the fixes as diffs only with --show-fixes: computing them costs a module transform per fix
    # a report written to --output-file is a file, not this terminal: plain text unless forced
    shown_on = None if args.output_file is not None else out
    display = terminal.choose(shown_on, args.color, files=not piped, diffs=args.show_fixes)
    if args.diff and args.fix:
        # --diff wins: show what would change, write nothing (ruff does the same)
        args.fix = False
    config = _make_config(args)
    paths = [] if piped else args.paths or ["."]
    for raw in paths:
        # lexists: a symlink loop or a dangling link is reported by read_file, with the other files
        if not os.path.lexists(raw):
            raise UsageError(f"{raw}: no such file or directory")
    if args.show_settings:
        out.write(showing.settings(config, _config_source(args)))
        return EXIT_CLEAN
    if args.force_exclude:
        paths = [raw for raw in paths if not is_excluded(Path(raw), config)]
    if args.show_files:
        out.write(showing.files([_stdin_name(args)] if piped else discover_files(paths, config)))
        return EXIT_CLEAN
    if args.watch and not watching:
        return _watch(argv, args, out, err)
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
    if args.add_noqa:
        return _add_noqa(paths, config, options, args, err)
    piped_run: stdin.StdinRun | None = None
    if piped:
        try:
            data = stdin.read()
        except OSError as exc:
            _err(err, f"cannot read standard input: {exc.strerror or exc}")
            return EXIT_ERROR
        name = _stdin_name(args)
        excluded = bool(args.force_exclude and args.stdin_filename and is_excluded(Path(name), config))
        piped_run = stdin.check(data, name, options, excluded)
    before = None  # --show-fixes --fix: what was fixable before the fixes, per file
    if args.show_fixes and args.fix:
        before = _fixable_before(piped_run, paths, config, options, args)
    for outcome in terminal.progress(_outcomes(piped_run, paths, config, options, args.jobs), err):
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
    if piped_run is not None and piped_run.fixed is not None:
        stdin.write_source(out, piped_run.fixed)
        out = err  # as ruff: the fixed text alone on stdout, the report on stderr
    if args.diff:
        if changed_files and not args.quiet:
            err.write(f"Would fix {changed_files} file{'s' if changed_files != 1 else ''}.\n")
        return EXIT_ERROR if failed else (EXIT_FOUND if changed_files else EXIT_CLEAN)
    text = render(report, args.output_format, statistics=args.statistics, display=display)
    if args.output_format == "json" and not _encodable(out, text):
        # an ASCII-only stdout (LC_ALL=C): escapes keep the JSON valid where backslashreplace would not
        text = render(report, args.output_format, ascii_only=True)
    if not _report(text, report, args, before, out, err):
        return EXIT_ERROR
    if failed:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    if report.findings or (args.exit_non_zero_on_fix and report.fixed):
        return EXIT_FOUND
    return EXIT_CLEAN


def _outcomes(
    piped: stdin.StdinRun | None, paths: Sequence[str], config: Config, options: parallel.Options, jobs: int
) -> Iterator[FileOutcome]:
    """The outcome of standard input, or of every file under ``paths``."""
    if piped is not None:
        return iter([piped.outcome])
    return parallel.run_files(discover_files(paths, config), options, jobs)


def _fixable_before(
    piped: stdin.StdinRun | None, paths: Sequence[str], config: Config, options: parallel.Options, args: argparse.Namespace
) -> showing.FixCounts:
    """--show-fixes with --fix: the fixable findings per file before fixing (a lint run first;
    the result cache answers it for unchanged files)."""
    if piped is not None:
        return {piped.outcome.path: piped.before}
    lint = dataclasses.replace(options, mode="lint")
    results = (o.result for o in parallel.run_files(discover_files(paths, config), lint, args.jobs) if o.result)
    return showing.fixable(results, args.unsafe_fixes)


def _report(
    text: str, report: Report, args: argparse.Namespace, before: showing.FixCounts | None, out: TextIO, err: TextIO
) -> bool:
    """Print (or write to --output-file) the rendered report, with --show-fixes' tables and without
    the summary line under --quiet. False when the output file cannot be written."""
    if args.output_format in ("text", "concise"):
        tables = showing.fix_tables(report.results, args.unsafe_fixes, before) if args.show_fixes else []
        text = showing.arrange(text, summary_line(report), tables, quiet=args.quiet > 0)
    if args.quiet >= 2 and not args.statistics:
        text = ""  # --silent; --statistics still prints its table, as ruff's does
    if args.output_file is None:
        out.write(text)
        return True
    try:
        args.output_file.parent.mkdir(parents=True, exist_ok=True)
        args.output_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        _err(err, f"{args.output_file}: cannot write: {exc.strerror or exc}")
        return False
    return True


def _add_noqa(paths: Sequence[str], config: Config, options: parallel.Options, args: argparse.Namespace, err: TextIO) -> int:
    """--add-noqa: lint, then give every line with a finding its ``# noqa`` comment."""
    from asynclint.addnoqa import add_noqa
    from asynclint.files import read_file

    failed = False
    added = 0
    for outcome in parallel.run_files(discover_files(paths, config), dataclasses.replace(options, mode="lint"), args.jobs):
        if outcome.read_error is not None:
            _err(err, f"{outcome.path}: {outcome.read_error}")
            failed = True
            continue
        result = outcome.result
        if result is None or not result.findings:
            if result is not None and result.error is not None:
                _err(err, f"{outcome.path}: {result.error}")
                failed = True
            continue
        data = read_file(Path(outcome.path))
        if not isinstance(data, bytes):
            _err(err, f"{data.path}: {data.message}")
            failed = True
            continue
        new = add_noqa(data, result.findings)
        if not new.lines:
            continue
        try:
            compile(data, outcome.path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            pass  # it did not compile before: it need not after
        else:
            try:
                compile(new.source, outcome.path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:  # a bug: never write a file that stopped compiling
                _err(err, f"{outcome.path}: adding noqa comments broke the file ({exc}); file left unchanged")
                failed = True
                continue
        # libcst: only when a file gets a comment
        from asynclint.fixes import write_atomic

        try:
            write_atomic(Path(outcome.path), new.source, root=config.root)
        except OSError as exc:
            _err(err, f"{outcome.path}: cannot write: {exc.strerror or exc}")
            failed = True
            continue
        added += new.lines
    if added and not args.quiet:
        err.write(f"Added {added} noqa directive{'s' if added != 1 else ''}.\n")
    return EXIT_ERROR if failed else EXIT_CLEAN


def _watch(argv: Sequence[str], args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """--watch: the same run again after every change of a checked file or the configuration."""
    from asynclint import watch

    def check() -> int:
        try:
            return run(argv, out, err, watching=True)
        except (UsageError, ConfigError) as exc:  # a configuration broken while watching: say so, go on
            _err(err, str(exc))
            return EXIT_ERROR

    def watched() -> list[Path]:
        try:
            config = _make_config(args)
        except ConfigError:
            config = Config()
        paths = args.paths or ["."]
        if args.force_exclude:
            paths = [raw for raw in paths if not is_excluded(Path(raw), config)]
        found = list(discover_files(paths, config))
        source = _config_source(args)
        return [*found, source] if source is not None else found

    return watch.watch(check, watched, out, err, quiet=args.quiet > 0, writes=args.fix and not args.diff)


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
