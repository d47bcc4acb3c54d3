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

import collections
import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import shutil
import tempfile
import threading
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
    """Writes the files of a site into a staging folder, counting files and bytes.

    The bytes go to disk on a thread of its own (``_Disk``), which the build does not wait for:
    the next page is made while the last is written (both release the GIL), with at most
    ``PENDING`` bytes waiting. ``close`` waits for the last write and raises what a write raised
    (``write`` raises it too, at the next file)."""

    def __init__(self, root: Path, progress: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.files = 0
        self.bytes = 0
        self.progress = progress
        self.written: list[str] = []  # every file, in the order written
        self._disk = _Disk()
        self._aside: list[tuple[threading.Thread, list[int], list[BaseException]]] = []
        self._stop = threading.Event()

    def write_aside(self, relative: str, pieces: Iterator[bytes | memoryview]) -> Callable[[], None]:
        """Write one file whose pieces are made on a thread of their own while the build goes on
        (Arrow makes them, and releases the GIL). It counts as written at once, and its bytes
        once ``close`` has waited for it; what making it raises, ``close`` raises. What it returns
        waits until every piece is made and handed on (not yet written), and raises what making
        them raised."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        size: list[int] = [0]
        errors: list[BaseException] = []

        def make() -> None:
            first = True
            try:
                for piece in pieces:
                    if self._stop.is_set():
                        return
                    length = len(piece) if isinstance(piece, bytes) else piece.nbytes
                    self._disk.put(target, [piece], length, first)
                    size[0], first = size[0] + length, False
                if first:
                    self._disk.put(target, [], 0, True)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=make, name="memokit-site-aside", daemon=True)
        thread.start()
        self._aside.append((thread, size, errors))
        self._count(relative, 0)

        def made() -> None:
            thread.join()
            if errors:
                raise errors[0]

        return made

    def write(self, relative: str, content: str | bytes | Iterable[bytes | memoryview]) -> None:
        """Write one file: text, bytes, or bytes in pieces (a large file, never held whole: a
        generator's pieces are handed on as they come)."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str | bytes):
            pieces: Iterable[bytes | memoryview] = [content.encode() if isinstance(content, str) else content]
        else:
            pieces = content
        size = 0
        if isinstance(pieces, list | tuple):
            size = sum(len(piece) if isinstance(piece, bytes) else piece.nbytes for piece in pieces)
            self._disk.put(target, list(pieces), size, first=True)
        else:
            first = True
            for piece in pieces:
                length = len(piece) if isinstance(piece, bytes) else piece.nbytes
                self._disk.put(target, [piece], length, first)
                size, first = size + length, False
            if first:
                self._disk.put(target, [], 0, True)
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

    def close(self, abandon: bool = False) -> None:
        """Wait until every file is written, and raise what a write raised; ``abandon``: drop what
        is still waiting (the site will not be used) and raise nothing."""
        if abandon:
            self._stop.set()
            self._disk.close(abandon)
        for thread, size, errors in self._aside:
            thread.join()
            self.bytes += size[0]
            if errors and not abandon:
                self._disk.close(abandon=True)
                raise errors[0]
        self._disk.close(abandon)

    def _count(self, relative: str, size: int) -> None:
        self.written.append(relative)
        self.files += 1
        self.bytes += size
        self._progress()

    def _progress(self) -> None:
        if self.progress is not None:
            self.progress(f"writing the site: {self.files:,} files, {self.bytes / 1e6:,.1f} MB")


#: Bytes handed to the writing thread that it has not written yet, at most (the pages are made faster
#: than a slow disk takes them; more would only hold memory).
PENDING = 64 << 20


class _Disk:
    """The thread that writes a site's files, in the order they were handed to it."""

    def __init__(self) -> None:
        self._work: collections.deque[tuple[Path, list[bytes | memoryview], int, bool]] = collections.deque()
        self._pending = 0
        self._closed = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def put(self, target: Path, pieces: list[bytes | memoryview], size: int, first: bool) -> None:
        """Write ``pieces`` into ``target``: a new file if ``first``, else after what is there."""
        with self._changed:
            while self._pending > PENDING and self._error is None and not self._closed:
                self._changed.wait()
            if self._error is not None:
                raise self._error
            if self._closed:
                return  # abandoned: nothing more is written
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="memokit-site-writer", daemon=True)
                self._thread.start()
            self._work.append((target, pieces, size, first))
            self._pending += size
            self._changed.notify_all()

    def close(self, abandon: bool) -> None:
        """Wait for the last write (``abandon``: drop what waits) and raise what a write raised."""
        with self._changed:
            self._closed = True
            if abandon:
                self._work.clear()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None and not abandon:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._work and not self._closed:
                    self._changed.wait()
                if not self._work:
                    return
                target, pieces, size, first = self._work.popleft()
            try:
                if first and target.exists():  # never write through a link: the file may also be the live site's
                    target.unlink()
                with target.open("wb" if first else "ab") as handle:
                    for piece in pieces:
                        handle.write(piece)
            except BaseException as exc:
                with self._changed:
                    self._error = exc
                    self._work.clear()
                    self._changed.notify_all()
                return
            with self._changed:
                self._pending -= size
                self._changed.notify_all()


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
    writer = SiteWriter(staging, progress)
    try:
        try:
            yield writer
        except BaseException:
            writer.close(abandon=True)
            raise
        writer.close()
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
