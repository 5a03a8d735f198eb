"""Which local files an import job may read: those inside the engine's IMPORT_ROOTS.

A `file://` dataLocation comes from whoever can call the API, and the engine reads it
with its own rights, so without a bound any caller could make it read `/etc/shadow`,
`/proc/self/environ` (the engine's secrets) or a key file, and learn from the job's
failureReason whether a path exists and what its first bytes are. So a path counts
only after resolving `..` and every symlink, and only inside a root (also resolved).

The check runs twice: at CreateDatasetImportJob (refused there, nothing stored or read)
and again when the job reads the file, on the file it actually opened, because a
symlink swapped in between would otherwise pass the first check and not the read.
Both refusals have one message that depends only on the location the caller sent, so
they say nothing about whether the path exists outside the roots.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse


class OutsideRoots(Exception):
    """The location may not be read; the message is safe to show the caller."""


class Unreadable(Exception):
    """A path inside the roots that is no regular readable file (safe to say: it is inside)."""


def refusal(location: str) -> str:
    return (
        f"dataLocation {location} is outside the engine's import roots (IMPORT_ROOTS); "
        "use s3:// or a file:// path inside them."
    )


def local_path(location: str) -> str:
    """The absolute path a `file://` location names.

    Raises OutsideRoots for shapes that name no local absolute path (`file://host/...`,
    `file://relative`, a NUL byte), so they get the same answer as any refused path.
    """
    parsed = urlparse(location)
    path = unquote(parsed.path)
    if parsed.netloc not in ("", "localhost") or not path.startswith("/") or "\0" in path:
        raise OutsideRoots(refusal(location))
    return path


def _inside(real: str, roots: Sequence[str]) -> bool:
    return any(Path(real).is_relative_to(os.path.realpath(root)) for root in roots)


def check(location: str, roots: Sequence[str]) -> str:
    """The location's real path if, with `..` and symlinks resolved, it lies inside a root."""
    real = os.path.realpath(local_path(location))
    if not roots or not _inside(real, roots):
        raise OutsideRoots(refusal(location))
    return real


def open_inside(location: str, roots: Sequence[str]) -> BinaryIO | None:
    """The file opened for reading, re-checked on the file actually opened; None if it
    does not exist. The caller closes it.

    O_NOFOLLOW refuses a symlink swapped in as the last component after the check;
    O_NONBLOCK keeps a FIFO from hanging the job. On Linux the opened file's own path
    (/proc/self/fd) is checked against the roots again, which also covers a directory
    swapped for a symlink between the check and the open.
    """
    real = check(location, roots)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink swapped in after the check
            raise OutsideRoots(refusal(location)) from None
        raise Unreadable(
            f"dataLocation {location} cannot be read ({os.strerror(exc.errno or 0)})."
        ) from None
    try:
        proc = f"/proc/self/fd/{fd}"
        if os.path.islink(proc) and not _inside(os.readlink(proc), roots):
            raise OutsideRoots(refusal(location))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable(f"dataLocation {location} is not a regular file.")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")
