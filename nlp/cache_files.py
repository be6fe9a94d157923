"""Files the reader keeps between start-ups (jieba's dictionary, the trained model).

Plain numpy arrays (.npz without pickle): loading runs no code from the file. A file is
written atomically (a reader never sees half of it) and loaded only when it is the bot
user's own and nobody else may write it, so a cache in a shared directory cannot be
swapped for someone else's. Any failure only costs the next start-up the work again.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.lib.npyio import NpzFile

logger = logging.getLogger(__name__)

# Between the strings of one stored list (features, words): none of them holds a newline.
_SEPARATOR = "\n"


def strings_array(strings: Sequence[str]) -> np.ndarray | None:
    """`strings` as one array of UTF-8 bytes, or None when one holds the separator."""
    if any(_SEPARATOR in s for s in strings):
        return None
    return np.frombuffer(_SEPARATOR.join(strings).encode("utf-8"), dtype=np.uint8)


def array_strings(array: np.ndarray) -> list[str]:
    """The strings `strings_array` stored (raises UnicodeDecodeError on a damaged file)."""
    text = bytes(array).decode("utf-8")
    return text.split(_SEPARATOR) if text else []


def read_arrays(path: Path, what: str) -> dict[str, np.ndarray] | None:
    """Every array of the file at `path`, or None when it is missing, not ours, or
    unreadable (logged, naming `what` it holds)."""
    try:
        # Opened here: np.load leaves the file open when it is not a zip archive. The
        # owner is checked on the open file, so it cannot be swapped after the check.
        with path.open("rb") as file:
            if not _trusted(os.fstat(file.fileno())):
                logger.warning("%s cache %s not ours or writable by others: not used", what, path)
                return None
            stored = np.load(file, allow_pickle=False)
            if not isinstance(stored, NpzFile):  # a single array
                raise ValueError("not an .npz archive")
            with stored:
                return {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("%s cache %s unreadable (%s): not used", what, path, exc)
        return None


def _trusted(info: os.stat_result) -> bool:
    """The bot user's own file, writable by nobody else."""
    ours = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return ours and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def write_arrays(
    path: Path, arrays: Mapping[str, np.ndarray], *, what: str, keep: int, prefix: str
) -> None:
    """Writes `arrays` to `path` atomically, then removes all but the `keep` newest files
    of `prefix` in its directory (another checkout or version may use the others)."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, allow_pickle=False, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logger.warning("%s not cached in %s: %s", what, directory, exc)
        return
    _prune(directory, prefix=prefix, keep=keep, newest=path)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0


def _prune(directory: Path, *, prefix: str, keep: int, newest: Path) -> None:
    others = sorted(
        (p for p in directory.glob(f"{prefix}*.npz") if p != newest), key=_modified, reverse=True
    )
    for stale in others[keep - 1 :]:
        try:
            stale.unlink()
        except OSError as exc:
            logger.info("old cache file %s not removed: %s", stale, exc)
