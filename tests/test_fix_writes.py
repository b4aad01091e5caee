"""How ``--fix`` writes files: in place where a rename would lose something (hard links, extended
attributes, an owner this user cannot give), atomically otherwise; never a read-only file, never
through a symlink out of the linted tree; a killed run leaves the old or the new text."""
from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asynclint import fixes
from asynclint.fixes import write_atomic

SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"
SLEEPY_FIXED = "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"
FIXED_ONE = "Fixed 1 error. Found 0 remaining errors.\n"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL200", *args],
        cwd=cwd, capture_output=True, text=True, env=_env(),
    )


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ASYNCLINT_")}


def test_hard_link_is_kept(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    path = tmp_path / "src" / "mod.py"
    path.write_text(SLEEPY)
    other = tmp_path / "other_name.py"
    os.link(path, other)
    inode = path.stat().st_ino
    proc = cli("--fix", "src/mod.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, FIXED_ONE, "")
    assert path.read_text() == other.read_text() == SLEEPY_FIXED
    assert path.stat().st_ino == other.stat().st_ino == inode and path.stat().st_nlink == 2
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["mod.py"], "temporary file left behind"


def test_mode_and_owner_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(SLEEPY)
    path.chmod(0o640)
    owner = None
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(path, 4321, 4322)
        owner = (4321, 4322)
    proc = cli("--fix", "mod.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, FIXED_ONE, "")
    assert path.read_text() == SLEEPY_FIXED
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    if owner is not None:
        assert (info.st_uid, info.st_gid) == owner
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


def _user_xattrs_work(path: Path) -> bool:
    try:
        os.setxattr(path, "user.probe", b"1")
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            return False
        raise
    os.removexattr(path, "user.probe")
    return True


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="no extended attributes on this platform")
def test_extended_attributes_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(SLEEPY)
    if not _user_xattrs_work(path):
        pytest.skip("this filesystem refuses user extended attributes")
    os.setxattr(path, "user.x", b"kept")
    inode = path.stat().st_ino
    proc = cli("--fix", "mod.py", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, FIXED_ONE, "")
    assert path.read_text() == SLEEPY_FIXED
    assert os.getxattr(path, "user.x") == b"kept"
    assert path.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


def test_read_only_file_is_refused_and_the_others_are_fixed(tmp_path: Path) -> None:
    (tmp_path / "a_ro.py").write_text(SLEEPY)
    (tmp_path / "a_ro.py").chmod(0o444)  # root could write it: the mode bits decide
    (tmp_path / "b_ok.py").write_text(SLEEPY)
    proc = cli("--fix", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "asynclint: a_ro.py: cannot write: file is read-only (mode 0444); not written\n"
    # the refused file keeps its finding, and the summary says it was not written
    assert proc.stdout == (
        "a_ro.py:4:5: ASL200 [*] `time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`\n"
        "Fixed 1 error. Found 1 remaining error (1 fixable with --fix). 1 file could not be written.\n"
    )
    assert (tmp_path / "a_ro.py").read_text() == SLEEPY
    assert stat.S_IMODE((tmp_path / "a_ro.py").stat().st_mode) == 0o444
    assert (tmp_path / "b_ok.py").read_text() == SLEEPY_FIXED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_ro.py", "b_ok.py"]


def test_file_not_writable_for_this_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mod.py"
    path.write_text("old\n")
    monkeypatch.setattr(fixes.os, "access", lambda p, mode: False)
    with pytest.raises(OSError) as info:
        write_atomic(path, b"new\n")
    assert info.value.strerror == "file is read-only (mode 0644); not written"
    assert path.read_text() == "old\n"


def test_symlink_out_of_the_linted_tree_is_not_written(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    outside = tmp_path / "outside.py"
    outside.write_text(SLEEPY)
    inside = project / "real.py"
    inside.write_text(SLEEPY)
    (project / "pkg" / "escape.py").symlink_to(outside)
    (project / "pkg" / "inner.py").symlink_to(inside)
    proc = cli("--fix", "pkg", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"asynclint: pkg/escape.py: cannot write: symlink points outside the linted tree (to {outside}); not written\n"
    )
    assert outside.read_text() == SLEEPY and (project / "pkg" / "escape.py").is_symlink()
    # a symlink inside the tree is followed: the file it points to is fixed, the link stays
    assert inside.read_text() == SLEEPY_FIXED and (project / "pkg" / "inner.py").is_symlink()
    # named on the command line: the same
    proc = cli("--fix", "pkg/escape.py", cwd=project)
    assert proc.returncode == 2 and proc.stderr.startswith("asynclint: pkg/escape.py: cannot write: symlink points outside")
    assert outside.read_text() == SLEEPY


def test_symlink_tree_is_the_project_not_the_file_system_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.asynclint]\n")
    shared = project / "shared.py"
    shared.write_text(SLEEPY)
    outside = tmp_path / "outside.py"
    outside.write_text(SLEEPY)
    (project / "sub" / "to_shared.py").symlink_to(shared)
    (project / "sub" / "escape.py").symlink_to(outside)
    # run from a sub-folder: the project (where the configuration is) is the tree
    proc = cli("--fix", ".", cwd=project / "sub")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"asynclint: escape.py: cannot write: symlink points outside the linted tree (to {outside}); not written\n"
    )
    assert shared.read_text() == SLEEPY_FIXED and outside.read_text() == SLEEPY
    # run from "/" on an absolute path: "/" holds everything, so it is never the tree
    shared.write_text(SLEEPY)
    (project / "pyproject.toml").unlink()
    proc = cli("--fix", str(project / "sub"), cwd=Path("/"))
    assert proc.returncode == 2
    assert proc.stderr.count("symlink points outside the linted tree") == 2
    assert shared.read_text() == SLEEPY and outside.read_text() == SLEEPY


def test_symlink_rule_with_an_explicit_root(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    target = tmp_path / "target.py"
    target.write_text("old\n")
    link = tmp_path / "tree" / "link.py"
    link.symlink_to(target)
    with pytest.raises(OSError) as info:
        write_atomic(link, b"new\n", root=tmp_path / "tree")
    assert info.value.strerror == f"symlink points outside the linted tree (to {target}); not written"
    write_atomic(link, b"new\n", root=tmp_path)
    assert target.read_text() == "new\n" and link.is_symlink()


def test_folder_without_room_for_a_temporary_file_is_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mod.py"
    path.write_text("old text\n")
    inode = path.stat().st_ino

    def mkstemp(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fixes.tempfile, "mkstemp", mkstemp)
    write_atomic(path, b"new\n")
    assert path.read_bytes() == b"new\n" and path.stat().st_ino == inode


def test_owner_that_cannot_be_given_means_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mod.py"
    path.write_text("old\n")
    inode = path.stat().st_ino
    real_stat = os.stat

    def stat_(p: object, *args: object, **kwargs: object) -> os.stat_result:
        result = real_stat(p, *args, **kwargs)  # type: ignore[arg-type]
        if str(p) == str(path):  # pretend another user owns it
            fields = list(result)
            fields[stat.ST_UID] = result.st_uid + 1
            return os.stat_result(fields)
        return result

    def chown(p: object, uid: int, gid: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(fixes.os, "stat", stat_)
    monkeypatch.setattr(fixes.os, "chown", chown)
    write_atomic(path, b"new\n")
    assert path.read_bytes() == b"new\n" and path.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


# -- a run killed mid-way ----------------------------------------------------------------------

COROUTINES = 3000


def _big(fixed: bool) -> str:
    call = "await asyncio.sleep(1)" if fixed else "time.sleep(1)"
    head = "import asyncio\n\n" if fixed else "import time\n\n"
    return head + "".join(f"\nasync def f{i}():\n    {call}\n" for i in range(COROUTINES))


def _start(folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "asynclint", "--no-cache", "--select", "ASL200", "-j", "1", "--fix", "big.py"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(),
    )


def _mark(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _writing(folder: Path, mark: tuple[int, int, int]) -> bool:
    """A write has begun: a temporary file is there, or the file itself changed."""
    try:
        return any(n.endswith(".asynclint") for n in os.listdir(folder)) or _mark(folder / "big.py") != mark
    except FileNotFoundError:  # between unlink and rename on some platforms
        return True


def test_a_killed_fix_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """SIGKILL at several moments: early (nothing written yet), the moment the temporary file
    appears and a little after it (the write itself, where a non-atomic write is caught halfway).
    All runs go at once to keep the test short; the first one is never killed and gives the fully
    fixed text. (Checked to fail with a plain in-place write.)"""
    original, fixed = _big(False), _big(True)
    #: seconds after the start, or ("writing", seconds after the temporary file appeared)
    kills: list[float | tuple[str, float] | None] = [None, 1.0, ("writing", 0.0), ("writing", 0.003)]
    runs = []
    for i, when in enumerate(kills):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        (folder / "big.py").write_text(original)
        runs.append((folder, _start(folder), when))
    marks = [_mark(folder / "big.py") for folder, _, _ in runs]
    begin = time.monotonic()
    seen: dict[int, float] = {}
    pending = list(range(len(runs)))
    while pending:
        now = time.monotonic()
        for i in list(pending):
            folder, process, when = runs[i]
            if process.poll() is not None:
                pending.remove(i)
                continue
            if isinstance(when, tuple):
                if i not in seen and _writing(folder, marks[i]):
                    seen[i] = now
                due = i in seen and now - seen[i] >= when[1]
            else:
                due = when is not None and now - begin >= when
            if due:
                process.send_signal(signal.SIGKILL)
                process.wait()
                pending.remove(i)
        time.sleep(0.0005)
    assert runs[0][1].returncode == 0
    assert (runs[0][0] / "big.py").read_text() == fixed, "the fully fixed text"
    assert runs[1][1].returncode == -signal.SIGKILL and (runs[1][0] / "big.py").read_text() == original
    for folder, _, when in runs[2:]:
        text = (folder / "big.py").read_text()
        assert text in (original, fixed), f"killed at {when}: a mix of the old and the new text"
