"""The trained classifier on disk, so that a start-up loads it instead of training.

A cached model is used only when everything training reads is the same: the key hashes the
training examples, the organisation names the segmenter knows (they change how texts are
cut), the nlp package's code and data files, and the versions of the libraries involved.
A missing, unreadable or different file means training as before and writing the file
again, so a stale model is never used. Stored as plain numpy arrays (.npz without pickle):
loading runs no code from the file; and since the temp dir is shared, a file that is not
the bot user's own, or that others may write, is not loaded either.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from nlp.classifier import LinearModel
from nlp.corpus import LabelledExample

logger = logging.getLogger(__name__)

NLP_DIR = Path(__file__).resolve().parent
# Bumped when the file's layout changes.
FORMAT = "1"
PREFIX = "complaint-model-"
# Files of earlier keys kept beside the newest (another checkout or version may use them).
KEEP = 3
_LIBRARIES = ("numpy", "scikit-learn", "jieba")
# Between features in the stored column list; features are words and n-grams of text.
_SEPARATOR = "\n"


def _code_and_data() -> Iterable[Path]:
    """Every file of the nlp package that shapes training: code, dictionaries, corpus."""
    for path in sorted(NLP_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def training_key(examples: Sequence[LabelledExample], names: Iterable[str]) -> str:
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for library in _LIBRARIES:
        digest.update(f"{library} {metadata.version(library)}\n".encode())
    for path in _code_and_data():
        digest.update(f"{path.relative_to(NLP_DIR).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    digest.update(b"examples\n")
    for example in examples:
        codes = ",".join(category.value for category in example.categories)
        digest.update(f"{codes}\t{example.text}\n".encode())
    digest.update(b"names\n")
    for name in sorted(names):
        digest.update(f"{name}\n".encode())
    return digest.hexdigest()


def cache_path(directory: Path, key: str) -> Path:
    return directory / f"{PREFIX}{key[:20]}.npz"


def load_model(directory: Path, key: str) -> LinearModel | None:
    """The model trained for `key`, or None when there is none (or it is unreadable)."""
    path = cache_path(directory, key)
    if not path.exists():
        return None
    if not _trusted(path):
        logger.warning("complaint model cache %s not ours or writable by others: training", path)
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            features = bytes(stored["features"]).decode("utf-8").split(_SEPARATOR)
            model = LinearModel(
                features=tuple(features),
                idf=np.array(stored["idf"], dtype=np.float64),
                coef=np.array(stored["coef"], dtype=np.float64),
                intercept=np.array(stored["intercept"], dtype=np.float64),
                classes=tuple(str(code) for code in stored["classes"]),
            )
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        logger.warning("complaint model cache %s unreadable (%s): training instead", path, exc)
        return None
    if not (len(features) == model.idf.shape[0] == model.coef.shape[1]) or (
        model.coef.shape[0] != len(model.classes) or model.intercept.shape[0] != len(model.classes)
    ):
        logger.warning("complaint model cache %s inconsistent: training instead", path)
        return None
    return model


def _trusted(path: Path) -> bool:
    """The temp dir is shared: a file someone else could have written is not loaded."""
    try:
        info = path.stat()
    except OSError:  # removed meanwhile
        return False
    ours = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return ours and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def save_model(directory: Path, key: str, model: LinearModel) -> None:
    """Writes the model for `key` (atomically: a reader never sees half a file) and removes
    the oldest files of other keys. A failure only costs the next start-up a training."""
    if any(_SEPARATOR in feature for feature in model.features):
        logger.warning("complaint model not cached: a feature holds the separator")
        return
    path = cache_path(directory, key)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(
                    file,
                    key=np.array(key),
                    features=np.frombuffer(
                        _SEPARATOR.join(model.features).encode("utf-8"), dtype=np.uint8
                    ),
                    idf=model.idf,
                    coef=model.coef,
                    intercept=model.intercept,
                    classes=np.array(model.classes),
                )
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logger.warning("complaint model not cached in %s: %s", directory, exc)
        return
    _prune(directory, keep=path)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0


def _prune(directory: Path, *, keep: Path) -> None:
    others = sorted(
        (p for p in directory.glob(f"{PREFIX}*.npz") if p != keep), key=_modified, reverse=True
    )
    for stale in others[KEEP - 1 :]:
        try:
            stale.unlink()
        except OSError as exc:
            logger.info("old complaint model cache %s not removed: %s", stale, exc)
