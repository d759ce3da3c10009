"""A full disk: recognising it, what the owner and new requests are told, and the temporaries it
leaves behind."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from bot.errors import DiskFull

__all__ = [
    "DISK_FULL_NOTICE",
    "DISK_FULL_REFUSAL",
    "is_disk_full",
    "refusing_when_full",
    "remove_temporaries",
]

log = logging.getLogger(__name__)

DISK_FULL_NOTICE = (
    "⚠️ The bot's disk is full: your images are made and will be saved and posted as soon as "
    "there is room again."
)
DISK_FULL_REFUSAL = "The bot's disk is full, so new images can't be saved. Try again later."
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_disk_full(error: BaseException) -> bool:
    """True for "no space left" from the file system or SQLite ("database or disk is full")."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return True
    if isinstance(error, sqlite3.Error):
        return "full" in str(error).lower() or getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return False


@contextlib.contextmanager
def refusing_when_full() -> Iterator[None]:
    """Turn "no space left" inside the block into DiskFull (the member is told the disk is full)."""
    try:
        yield
    except Exception as error:
        if is_disk_full(error):
            log.error("a new job cannot be stored: the disk of DATA_DIR is full (%s)", error)
            raise DiskFull(DISK_FULL_REFUSAL) from None
        raise


def remove_temporaries(images_dir: Path) -> int:
    """Delete the `.<name>.tmp` files an interrupted write left in the job folders; returns how many."""
    removed = 0
    if not images_dir.is_dir():
        return 0
    with os.scandir(images_dir) as folders:
        for folder in folders:
            if not folder.is_dir(follow_symlinks=False):
                continue
            with os.scandir(folder.path) as entries:
                for entry in entries:
                    if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                        Path(entry.path).unlink(missing_ok=True)
                        removed += 1
    if removed:
        log.info("removed %d half-written files from %s", removed, images_dir)
    return removed
