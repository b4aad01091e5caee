"""Which files a run reads, and reading them: discovery (excludes, .gitignore) and one-line read errors.

Imports nothing heavy: a run that the result cache answers entirely never loads libcst."""
from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import pathspec

from asynclint.config import Config

#: folders never walked into
DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "build", "dist", "__pycache__",
    "node_modules", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "site-packages",
)


@dataclass
class FileError:
    """A file that could not be read at all (permissions, missing, a symlink loop, not a regular
    file)."""

    path: str
    message: str


def _is_virtualenv(folder: Path) -> bool:
    try:
        return (folder / "pyvenv.cfg").is_file()
    except OSError:  # a folder we may not look into: _walk skips it quietly, as before
        return False


class _IgnoreStack:
    """The ignore files that apply to a folder: each one's patterns are relative to a folder (a
    .gitignore's own, the work tree's for .git/info/exclude and the global excludes file)."""

    def __init__(self) -> None:
        self.specs: list[tuple[Path, pathspec.GitIgnoreSpec]] = []

    def load(self, folder: Path) -> None:
        self.load_file(folder / ".gitignore", folder)

    def load_file(self, ignore: Path, folder: Path) -> None:
        try:
            found = ignore.is_file()
        except OSError:
            found = False
        if found:
            try:
                lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
                base = folder.resolve()
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop before Python 3.13
                return
            self.specs.append((base, _gitignore_spec(lines)))

    def load_repository(self, work_tree: Path) -> None:
        """What git ignores in the whole work tree besides .gitignore files: the global excludes
        file (``core.excludesFile``) and ``.git/info/exclude``."""
        global_file = _global_excludes_file()
        if global_file is not None:
            self.load_file(global_file, work_tree)
        git_dir = _git_dir(work_tree)
        if git_dir is not None:
            self.load_file(git_dir / "info" / "exclude", work_tree)

    def ignored(self, path: Path, is_dir: bool) -> bool:
        if not self.specs:
            return False
        try:
            path = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: judged by its own name
            path = path.absolute()
        for base, spec in self.specs:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


def _gitignore_spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    """The patterns of a .gitignore file; lines git would not understand are skipped, as git does."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:  # pathspec's GitWildMatchPatternError
        good = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except ValueError:
                continue
            good.append(line)
        return pathspec.GitIgnoreSpec.from_lines(good)


def _user_excludes(config: Config) -> pathspec.GitIgnoreSpec | None:
    patterns = [*config.exclude, *config.extend_exclude]
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


def _excluded_by_user(path: Path, spec: pathspec.PathSpec | None, root: Path, is_dir: bool) -> bool:
    if spec is None:
        return False
    slash = "/" if is_dir else ""
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside the root, or a symlink loop: as named
        return spec.match_file(path.as_posix() + slash) or spec.match_file(path.name + slash)
    # below the root the relative path alone decides: an anchored pattern (``/build/``,
    # ``src/gen/``) must not match a folder of that name elsewhere
    return spec.match_file(rel + slash)


def discover_files(paths: Sequence[str], config: Config) -> Iterator[Path]:
    """Python files under ``paths``. Folders skip VCS folders, virtual environments, build output,
    caches, ``.gitignore``d and configured ``exclude`` paths; a file named directly is always linted."""
    user = _user_excludes(config)
    for raw in paths:
        start = Path(raw)
        if not start.is_dir():
            # a file named directly (or a FIFO, a symlink loop, a missing path): read_file says what
            yield start
            continue
        ignores = _IgnoreStack()
        # .gitignore files of the folders above the starting one, up to the repository root
        above = start.resolve().parents
        root = next((p for p in above if (p / ".git").exists()), None)
        if (start / ".git").exists():
            ignores.load_repository(start)
        elif root is not None:
            ignores.load_repository(root)
            for parent in reversed(above[: above.index(root) + 1]):
                ignores.load(parent)
            if ignores.ignored(start.resolve(), True):
                # a folder named explicitly is linted even when a .gitignore above it ignores it
                ignores.specs.clear()
        yield from _walk(start, ignores, user, config)


def _git_dir(work_tree: Path) -> Path | None:
    """The folder holding ``info/exclude`` for ``work_tree``: ``.git``, or for a linked worktree or
    a submodule (``.git`` is a file: ``gitdir: ...``) the common git folder."""
    dot_git = work_tree / ".git"
    try:
        if dot_git.is_dir():
            return dot_git
        text = dot_git.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    git_dir = work_tree / text[len("gitdir:") :].strip()
    try:
        common = (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return git_dir
    return git_dir / common


@functools.lru_cache(maxsize=1)
def _global_excludes_file() -> Path | None:
    """git's global ignore file: ``core.excludesFile`` from the user's git configuration
    (``$GIT_CONFIG_GLOBAL``, ``~/.gitconfig``, ``$XDG_CONFIG_HOME/git/config``), else git's default
    ``$XDG_CONFIG_HOME/git/ignore``. Read as plain text, without running git: ``[include]``d files
    and ``git -c`` are not followed."""
    home = Path.home() if "HOME" in os.environ or os.name == "nt" else None
    xdg = Path(os.environ["XDG_CONFIG_HOME"]) if os.environ.get("XDG_CONFIG_HOME") else (home / ".config" if home else None)
    configs: list[Path] = []
    if xdg is not None:
        configs.append(xdg / "git" / "config")
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        configs.append(Path(os.environ["GIT_CONFIG_GLOBAL"]))
    elif home is not None:
        configs.append(home / ".gitconfig")
    found: str | None = None
    for config in configs:  # later files win, as in git
        found = _excludes_file_setting(config) or found
    if found is not None:
        return Path(os.path.expanduser(found))
    return xdg / "git" / "ignore" if xdg is not None else None


def _excludes_file_setting(config: Path) -> str | None:
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    section, value = "", None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line[1 : line.find("]")].strip().lower() if "]" in line else ""
            continue
        if section != "core" or "=" not in line:
            continue
        key, _, rest = line.partition("=")
        if key.strip().lower() == "excludesfile":
            rest = rest.strip()
            if rest.startswith('"'):  # a quoted value; a comment may follow it
                end = rest.find('"', 1)
                value = rest[1:end] if end > 0 else rest[1:]
            else:
                value = rest.split("#")[0].split(";")[0].strip()
    return value or None


def _walk(folder: Path, ignores: _IgnoreStack, user: pathspec.PathSpec | None, config: Config) -> Iterator[Path]:
    ignores.load(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    depth = len(ignores.specs)
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if entry.name in DEFAULT_EXCLUDES or _is_virtualenv(path):
                continue
            if ignores.ignored(path, True) or _excluded_by_user(path, user, config.root, True):
                continue
            yield from _walk(path, ignores, user, config)
            del ignores.specs[depth:]
        elif entry.name.endswith((".py", ".pyi")) and _is_file_or_broken(entry):
            if ignores.ignored(path, False) or _excluded_by_user(path, user, config.root, False):
                continue
            yield path


def _is_file_or_broken(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a symlink that cannot be followed (a loop): read_file reports it, so a
    broken link is one line of output instead of a crash or silence. Other kinds (FIFOs, sockets,
    dangling links) found by walking are not Python modules and are skipped."""
    try:
        return entry.is_file()
    except OSError:
        return entry.is_symlink()


def read_file(path: Path) -> bytes | FileError:
    """The bytes of a regular file. Anything else is a FileError, found with ``stat`` before
    opening: opening a FIFO for reading would wait for a writer forever."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            return FileError(str(path), "is a directory")
        if not stat.S_ISREG(mode):
            return FileError(str(path), f"not a regular file ({_kind(mode)})")
        return path.read_bytes()
    except FileNotFoundError:
        try:
            os.lstat(path)
        except OSError:
            return FileError(str(path), "no such file or directory")
        return FileError(str(path), "broken symbolic link")
    except IsADirectoryError:
        return FileError(str(path), "is a directory")
    except OSError as exc:
        return FileError(str(path), exc.strerror or str(exc))


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a file"


def is_excluded(path: Path, config: Config) -> bool:
    """Whether ``exclude``/``extend-exclude``, or a folder skipped by default (``build``, a virtual
    environment, ...), covers ``path`` or a folder above it up to the project root: what
    ``--force-exclude`` applies to the paths named on the command line, which are otherwise always
    checked (ruff's rule: ``.gitignore`` plays no part there)."""
    user = _user_excludes(config)
    try:
        resolved = path.resolve()
        parts = resolved.relative_to(config.root).parts
    except (ValueError, OSError, RuntimeError):  # outside the project: only its own name counts
        return _excluded_by_user(path, user, config.root, path.is_dir())
    is_dir = resolved.is_dir()
    current = config.root
    for i, part in enumerate(parts):
        current = current / part
        folder = i < len(parts) - 1 or is_dir
        if folder and (part in DEFAULT_EXCLUDES or _is_virtualenv(current)):
            return True
        if _excluded_by_user(current, user, config.root, folder):
            return True
    return False
