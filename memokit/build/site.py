"""Writing the site: into a staging folder beside ``--out``, swapped into place in one step.

The rules, so that a build never loses anyone's files and never leaves a half-written site:

- ``--out`` is replaced only if it is empty, or holds memokit's marker (``MARKER``, written into
  every site), or is a site of an older memokit (``data/stats.json`` and ``data/claims.json``).
  Any other folder (someone's thesis) is refused.
- The new site is written into ``.<out>-new-<random>`` beside ``--out``, which holds a lock file
  naming the building process. When it is complete, the two folders change places in one atomic
  step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames, which the next build repairs
  if it was killed between them), and the old site is removed.
- Each build first removes what an interrupted build left beside ``--out``: staging folders whose
  building process is gone, and retired sites. Only folders holding memokit's marker are touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..model import InputError, Problem

#: The file that marks a folder as a site memokit wrote (and may therefore replace).
MARKER = ".memokit-site"
MARKER_TEXT = ("This folder was written by memokit and is replaced whole by every build.\n"
               "Do not keep anything of your own here.\n")
#: In a staging folder while its build runs: the building process's id.
LOCK = ".memokit-building"


def _problem(out: Path, message: str) -> InputError:
    return InputError([Problem(str(out), None, None, message)])


def is_memokit_site(folder: Path) -> bool:
    """True if ``folder`` holds memokit's marker, or is a site of a memokit from before it."""
    return (folder / MARKER).is_file() or ((folder / "data" / "stats.json").is_file()
                                           and (folder / "data" / "claims.json").is_file())


def check_output(out: Path) -> None:
    """Refuse an output path memokit may not replace: a file, or a folder that holds something and
    is not a site memokit wrote."""
    if out.is_symlink():
        raise _problem(out, "the output path is a symbolic link, which a build would replace: give the folder itself")
    if out.exists() and not out.is_dir():
        raise _problem(out, "output path exists and is not a folder: choose another --out")
    if out.is_dir() and any(out.iterdir()) and not is_memokit_site(out):
        raise _problem(out, f"the folder holds files memokit did not write (no {MARKER} in it), and a build "
                            "replaces the whole folder: choose an empty or new folder for --out")


class SiteWriter:
    """Writes the files of a site into a staging folder, counting files and bytes."""

    def __init__(self, root: Path, progress: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0
        self.progress = progress
        self.written: list[str] = []  # every file, in the order written

    def write(self, relative: str, content: str | bytes | Iterable[bytes | memoryview]) -> None:
        """Write one file: text, bytes, or bytes in pieces (a large file, never held whole)."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # never write through a link: the file may also be the live site's
            target.unlink()
        if isinstance(content, str | bytes):
            data = content.encode() if isinstance(content, str) else content
            target.write_bytes(data)
            size = len(data)
        else:
            size = 0
            with target.open("wb") as handle:
                for piece in content:
                    size += handle.write(piece)
        self._count(relative, size)

    def reuse(self, relatives: Sequence[str], previous: Path, size: int | None = None) -> bool:
        """Take the files ``relatives`` unchanged from the site in ``previous``, all of them or none:
        hard links (no bytes written; files of a site are never changed in place), or copies where
        links cannot be made. ``size`` is their bytes together, if known (else each is looked at).
        False, with none taken, if the previous site lacks one of them. One system call a file, no
        more: a site of ten million posts has some fifteen thousand files to take."""
        root, source_root = os.fspath(self.root), os.fspath(previous)
        for folder in sorted({relative.rpartition("/")[0] for relative in relatives} - {""}):
            os.makedirs(f"{root}/{folder}", exist_ok=True)  # left if none is taken: the same files are written
        taken: list[str] = []
        try:
            for relative in relatives:
                source, target = f"{source_root}/{relative}", f"{root}/{relative}"
                try:
                    os.link(source, target)
                except FileNotFoundError:
                    raise
                except OSError:
                    shutil.copyfile(source, target)
                taken.append(target)
            if size is None:
                size = sum(os.stat(target).st_size for target in taken)
        except FileNotFoundError:
            for target in taken:
                os.unlink(target)
            return False
        self.written.extend(relatives)
        self.files += len(relatives)
        self.bytes += size
        self._progress()
        return True

    def _count(self, relative: str, size: int) -> None:
        self.written.append(relative)
        self.files += 1
        self.bytes += size
        self._progress()

    def _progress(self) -> None:
        if self.progress is not None:
            self.progress(f"writing the site: {self.files:,} files, {self.bytes / 1e6:,.1f} MB")


@contextmanager
def staged_site(out: Path, progress: Callable[[str], None] | None = None,
                retire: Callable[[Path], None] | None = None) -> Iterator[SiteWriter]:
    """Yield a writer into a fresh folder beside ``out``; swap it into place only if the block
    finishes, so a failed or killed build never leaves a half-written site. ``progress`` hears of
    each file written. The old site is removed once the new one is in place, or, if ``retire`` is
    given, handed to it to remove later (the preview removes it once the pages have been told to
    reload; if it never does, the next build's ``clean_up`` does)."""
    out = Path(os.path.abspath(out))
    parent = out.parent
    check_output(out)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
        raise _problem(out, f"cannot write the output folder: {why}") from None
    clean_up(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=parent))
        os.chmod(staging, 0o755)
        (staging / LOCK).write_text(f"{os.getpid()}\n", encoding="ascii")
        (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise _problem(out, f"cannot write the output folder: {exc.strerror or exc}") from None
    try:
        writer = SiteWriter(staging, progress)
        yield writer
        (staging / LOCK).unlink()
        if out.exists():
            _swap(staging, out)
            if retire is not None:  # now the old site
                retire(staging)
            else:
                shutil.rmtree(staging, ignore_errors=True)
        else:
            os.rename(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _problem(out, f"cannot write the output folder: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def clean_up(out: Path) -> list[Path]:
    """Repair and tidy what interrupted builds left beside ``out``; return the folders removed.

    A site retired by a swap that was killed halfway (``.<out>-old-*``) is put back if ``out`` is
    missing, and removed otherwise; a staging folder (``.<out>-new-*``) is removed once the process
    that was writing it has gone. Folders without memokit's marker are never touched."""
    removed: list[Path] = []
    parent = out.parent
    if not parent.is_dir():
        return removed
    for retired in sorted(parent.glob(f".{out.name}-old-*")):
        if not retired.is_dir() or retired.is_symlink() or not is_memokit_site(retired):
            continue
        if not out.exists():
            os.rename(retired, out)  # the last good site, back in place
        else:
            shutil.rmtree(retired, ignore_errors=True)
            removed.append(retired)
    for staging in sorted(parent.glob(f".{out.name}-new-*")):
        if staging.is_dir() and not staging.is_symlink() and (staging / MARKER).is_file() and not _building(staging):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def _building(staging: Path) -> bool:
    """True if the process named in a staging folder's lock file still runs."""
    try:
        pid = int((staging / LOCK).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@functools.cache
def _renameat2() -> Any:
    """The C library's ``renameat2``, or None; looked up once (``find_library`` runs ``ldconfig``,
    some 50 ms, which a preview's rebuild would otherwise pay every time)."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    return getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one atomic step (Linux 3.15+); False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # not on this system or file system
    raise OSError(code, os.strerror(code))


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` in the place of ``out``, and ``out`` where ``staging`` was."""
    if _exchange(staging, out):
        return
    # Two renames: killed between them, ``out`` is missing and the next build puts the retired
    # site back (``clean_up``) before anything else.
    retired = out.with_name(f".{out.name}-old-{staging.name.rsplit('-', 1)[-1]}")
    os.rename(out, retired)
    os.rename(staging, out)
    with contextlib.suppress(OSError):
        os.rename(retired, staging)  # so that the caller removes it like an exchanged one
