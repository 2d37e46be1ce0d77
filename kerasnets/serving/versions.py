"""TF Serving version folders, written atomically and safely under concurrency.

TF Serving watches a *base folder* and serves its highest numbered sub-folder
(``BASE/1``, ``BASE/2``, ...). `write_version` is the one place that
writes such a version, for the classifier export and for the apps' exports
(``apps.captioning``):

1. Build everything in a hidden temporary folder ``BASE/.tmp-<pid>-<random>``
   (TF Serving only looks at numeric names, so it never loads a half-written
   version).
2. Pick the version number and ``os.rename`` the folder into place, in a retry
   loop: when another export to the same base took that number first (the
   rename then fails with ``ENOTEMPTY``/``EEXIST``), take the next free one.
   An existing version is never overwritten; an explicitly requested version
   that exists is a [`VersionExistsError`][kerasnets.serving.versions.VersionExistsError].
3. On any failure (an exception, Ctrl-C) the temporary folder is removed. A
   process killed with SIGKILL cannot clean up: its temporary folder is removed
   by the next export to the same base, **only if it is stale**:

   *The lock rule.* Every export holds an exclusive ``flock`` on its own
   temporary folder from the moment it is created until it has been renamed.
   The kernel releases that lock when the process dies, however it dies. The
   next export, while holding a ``flock`` on the base folder itself (which also
   guards the creation of temporary folders, so a folder is never seen between
   its creation and its locking), removes every ``.tmp-*`` folder it can lock:
   no live process owns those. A live export's folder cannot be locked and is
   left alone, however old it is. Where ``flock`` is unavailable (no
   ``fcntl``, or a file system that refuses it) nothing is removed.

Every ``OSError`` becomes an [`ExportError`][kerasnets.serving.versions.ExportError] naming the path and what went
wrong in one line; it is both an ``OSError`` and a ``ValueError``, so the
command lines print it as a usage/input error (exit status 2).

This module uses only the standard library.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

try:  # POSIX only; without it exports still work, stale folders are just not removed.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = [
    "TMP_PREFIX",
    "ExportError",
    "VersionExistsError",
    "numeric_versions",
    "next_version",
    "remove_stale_temporaries",
    "write_version",
]

TMP_PREFIX = ".tmp-"
_MAX_ATTEMPTS = 1000  # rename retries; each lost race moves on to a strictly higher version


class ExportError(OSError, ValueError):
    """A version folder could not be written; the message names the path.

    An ``OSError`` (it comes from the file system) and a ``ValueError`` (it is the
    user's input to fix: a read-only base, a file where a folder is needed), so
    every command line reports it as one line with exit status 2.

    Attributes:
        path: the offending path.
    """

    def __new__(cls, message: str, *, path: str | None = None, errno: int | None = None):
        return super().__new__(cls, message)

    def __init__(self, message: str, *, path: str | None = None, errno: int | None = None):
        super().__init__(message)
        self.path = path
        self.errno = errno

    @classmethod
    def from_os_error(cls, err: OSError, what: str, *, path: str, received: str) -> ExportError:
        """``"<what>: <the system's reason>. Received: <received>"``, with ``err``'s errno.

        Raise it ``from None``: the message already says what the OSError said.
        """
        return cls(f"{what}: {err.strerror or err}. Received: {received}", path=path, errno=err.errno)


class VersionExistsError(FileExistsError, ExportError):
    """An explicitly requested version already exists (versions are immutable)."""


def _check_base(base_dir) -> str:
    if isinstance(base_dir, bytes) or not isinstance(base_dir, (str, os.PathLike)):
        raise TypeError(f"`base_dir` must be a folder path. Received: base_dir={base_dir!r}")
    text = os.fspath(base_dir)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"`base_dir` must be a non-empty folder path. Received: base_dir={base_dir!r}")
    return os.path.abspath(text)


def _not_a_folder(path: str) -> str | None:
    """The first existing component of ``path`` (``path`` itself included) that is not a folder."""
    parts = []
    head = path
    while True:
        parts.append(head)
        parent = os.path.dirname(head)
        if parent == head:
            break
        head = parent
    for part in reversed(parts):
        if not os.path.exists(part):
            return None
        if not os.path.isdir(part):
            return part
    return None


def numeric_versions(base_dir: str | os.PathLike) -> list[int]:
    """The version numbers taken in ``base_dir`` (every numeric entry, folder or not), sorted."""
    try:
        names = os.listdir(os.fspath(base_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(n) for n in names if n.isdigit())


def next_version(base_dir: str | os.PathLike) -> int:
    """The next free TF Serving version number in ``base_dir`` (1 if there is none).

    Examples:
        >>> next_version("/nonexistent/dir")
        1
    """
    versions = numeric_versions(base_dir)
    return versions[-1] + 1 if versions else 1


@contextlib.contextmanager
def _locked(path: str, *, blocking: bool) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on the folder ``path``; yields False when it cannot be had."""
    if fcntl is None:
        yield False
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError:  # held by a live export (EWOULDBLOCK) or unsupported here
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _remove_stale(base: str) -> list[str]:
    # Called with the base folder locked: see the lock rule in the module docstring.
    removed = []
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return removed
    for name in names:
        path = os.path.join(base, name)
        if not name.startswith(TMP_PREFIX) or os.path.islink(path) or not os.path.isdir(path):
            continue
        with _locked(path, blocking=False) as stale:
            if stale:
                shutil.rmtree(path, ignore_errors=True)
                if not os.path.exists(path):
                    removed.append(path)
    return removed


def remove_stale_temporaries(base_dir: str | os.PathLike) -> list[str]:
    """Remove the ``.tmp-*`` folders of dead exports from ``base_dir``; returns their paths.

    A folder is removed only when no live process holds its lock (the lock rule
    of this module); a running export's folder is never touched.
    """
    base = _check_base(base_dir)
    if not os.path.isdir(base):
        return []
    with _locked(base, blocking=True) as locked:
        return _remove_stale(base) if locked else []


def _make_base(base: str) -> None:
    bad = _not_a_folder(base)
    if bad is not None:
        where = "`base_dir`" if bad == base else f"`base_dir`'s parent {bad!r}"
        raise ExportError(
            f"{where} is a file, not a folder; pass a folder path for the export. Received: base_dir={base!r}",
            path=bad,
            errno=_errno.ENOTDIR,
        )
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as err:
        raise ExportError.from_os_error(
            err, f"Cannot create the export folder {err.filename or base!r}", path=err.filename or base,
            received=f"base_dir={base!r}",
        ) from None


def _check_version(version) -> int | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) and not hasattr(version, "__index__"):
        raise TypeError(f"`version` must be an integer >= 0. Received: version={version!r}")
    value = int(version)
    if value < 0:
        raise ValueError(f"`version` must be an integer >= 0. Received: version={version!r}")
    return value


def _exists_error(base: str, version: int) -> VersionExistsError:
    return VersionExistsError(
        f"Version {version} already exists in {base}; TF Serving versions are immutable: "
        f"omit `version` to write the next free one ({next_version(base)}). Received: version={version}",
        path=os.path.join(base, str(version)),
        errno=_errno.EEXIST,
    )


def write_version(
    base_dir: str | os.PathLike,
    write: Callable[[str], object],
    version: int | None = None,
) -> str:
    """Write one version folder ``base_dir/<version>`` atomically; returns its path.

    Args:
        base_dir: the model's base folder (created if missing).
        write: called with the path of an empty temporary folder inside
            ``base_dir``; it writes the whole version there (e.g. a SavedModel).
        version: the version number; default: the next free one at the moment
            of the rename (concurrent exports get distinct numbers).

    Returns:
        The path of the written version folder.

    Raises:
        TypeError / ValueError: a bad ``base_dir`` or ``version``.
        VersionExistsError: the requested ``version`` exists (also a FileExistsError).
        ExportError: any file-system failure, naming the path.
    """
    base = _check_base(base_dir)
    version = _check_version(version)
    if version is not None and os.path.lexists(os.path.join(base, str(version))):
        raise _exists_error(base, version)
    _make_base(base)
    with contextlib.ExitStack() as own_lock:
        with _locked(base, blocking=True) as base_locked:
            if base_locked:
                _remove_stale(base)
            try:
                tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=base)
            except OSError as err:
                raise ExportError.from_os_error(
                    err, f"Cannot write into the export folder {base!r}", path=base, received=f"base_dir={base!r}"
                ) from None
            # Locked before the base lock is released, so a cleanup never sees it unlocked.
            own_lock.enter_context(_locked(tmp, blocking=False))
        try:
            try:
                write(tmp)
                # mkdtemp creates a 0700 folder; a server running as another user must read it.
                for root, dirs, _ in os.walk(tmp):
                    for d in dirs:
                        os.chmod(os.path.join(root, d), 0o755)
                os.chmod(tmp, 0o755)
            except OSError as err:
                raise ExportError.from_os_error(
                    err, f"Writing the export into {err.filename or tmp!r} failed", path=err.filename or tmp,
                    received=f"base_dir={base!r}",
                ) from None
            return _rename_into_place(tmp, base, version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _rename_into_place(tmp: str, base: str, version: int | None) -> str:
    for _ in range(_MAX_ATTEMPTS):
        number = next_version(base) if version is None else version
        final = os.path.join(base, str(number))
        if os.path.lexists(final):
            if version is not None:
                raise _exists_error(base, version)
            continue  # taken since next_version looked: look again
        try:
            # Atomic on one file system. It fails (ENOTEMPTY/EEXIST) when another export has just
            # renamed its folder to `final`; it would replace only an empty folder, losing nothing.
            os.rename(tmp, final)
            return final
        except OSError as err:
            taken = err.errno in (_errno.EEXIST, _errno.ENOTEMPTY, _errno.ENOTDIR) and os.path.lexists(final)
            if not taken:
                raise ExportError.from_os_error(
                    err, f"Cannot rename the finished export to {final!r}", path=final, received=f"base_dir={base!r}"
                ) from None
            if version is not None:
                raise _exists_error(base, version) from None
    raise ExportError(  # pragma: no cover - needs 1000 exports finishing within one export's rename
        f"Could not find a free version number in {base!r} after {_MAX_ATTEMPTS} attempts.", path=base
    )
