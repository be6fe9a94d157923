"""The trained classifier on disk, so that a start-up loads it instead of training.

A cached model is used only when everything training reads is the same: the key hashes the
training examples, the organisation names the segmenter knows (they change how texts are
cut), the nlp package's code and data files, and the versions of the libraries involved.
A missing, unreadable or different file means training as before and writing the file
again, so a stale model is never used. The file is written and checked as every cache file
of the reader is (`nlp.cache_files`: plain numpy arrays, the bot user's own).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from nlp.cache_files import array_strings, read_arrays, strings_array, write_arrays
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
_WHAT = "complaint model"


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
    stored = read_arrays(path, _WHAT)
    if stored is None:
        return None
    try:
        if str(stored["key"]) != key:
            return None
        features = array_strings(stored["features"])
        model = LinearModel(
            features=tuple(features),
            idf=np.array(stored["idf"], dtype=np.float64),
            coef=np.array(stored["coef"], dtype=np.float64),
            intercept=np.array(stored["intercept"], dtype=np.float64),
            classes=tuple(str(code) for code in stored["classes"]),
        )
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        logger.warning("%s cache %s unreadable (%s): training instead", _WHAT, path, exc)
        return None
    if not (len(features) == model.idf.shape[0] == model.coef.shape[1]) or (
        model.coef.shape[0] != len(model.classes) or model.intercept.shape[0] != len(model.classes)
    ):
        logger.warning("%s cache %s inconsistent: training instead", _WHAT, path)
        return None
    return model


def save_model(directory: Path, key: str, model: LinearModel) -> None:
    """Writes the model for `key` and removes the oldest files of other keys."""
    features = strings_array(model.features)
    if features is None:
        logger.warning("%s not cached: a feature holds the separator", _WHAT)
        return
    write_arrays(
        cache_path(directory, key),
        {
            "key": np.array(key),
            "features": features,
            "idf": model.idf,
            "coef": model.coef,
            "intercept": model.intercept,
            "classes": np.array(model.classes),
        },
        what=_WHAT,
        keep=KEEP,
        prefix=PREFIX,
    )
