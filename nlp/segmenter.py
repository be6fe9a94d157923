"""jieba word segmentation with the postal user dictionary and the organisation's names."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nlp.cache_dir import default_cache_dir
from nlp.cache_files import (
    array_strings,
    read_arrays,
    strings_array,
    write_arrays,
)

# jieba 0.42 imports pkg_resources (a tenth of a second, a deprecation warning with newer
# setuptools) only to open its own files, and opens them plainly when it is missing.
_HIDE_PKG_RESOURCES = "pkg_resources" not in sys.modules
if _HIDE_PKG_RESOURCES:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # import raises
try:
    import jieba
finally:
    if _HIDE_PKG_RESOURCES:
        del sys.modules["pkg_resources"]

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
USERDICT_PATH = DATA_DIR / "userdict.txt"

# Organisation names must win over the general dictionary ("东2段" would otherwise be cut
# into 东/2/段 and "城关投递部" into 城关/投递/部), yet stay rare enough not to swallow
# neighbouring words; jieba's own suggestion is the smallest frequency that keeps a
# name whole, this keeps it whole in more contexts.
_NAME_FREQ_FLOOR = 2000


# jieba's dictionary parsed, with the postal terms added, kept in the cache directory: loading
# it is three times faster than jieba's own cache (marshal read from the file piecewise).
DICTIONARY_PREFIX = "jieba-dictionary-"
# Bumped when the file's layout changes.
_DICTIONARY_FORMAT = "1"
_DICTIONARY_KEEP = 2
_WHAT = "jieba dictionary"
# The organisation names' frequencies for that dictionary: suggesting them one by one
# costs about 25 µs a name (0.1 s for a province), adding known ones a fifth of it.
NAMES_PREFIX = "jieba-names-"
_NAMES_WHAT = "organisation names' frequencies"


class Segmenter:
    """A private jieba tokenizer: postal terms plus the organisation's own names.

    Construction is cheap; `initialize()` loads the dictionary (a few tenths of a second
    from `cache_dir`, default `default_cache_dir()`; a second or two to parse it the first
    time) and must be called once at start-up (the bot does it off the event loop), never
    lazily in a handler. Name updates build a fresh tokenizer from a snapshot and swap it
    in, so a reader in another thread never sees a half-updated dictionary and old names do
    not linger.
    """

    def __init__(
        self, *, userdict: Path | None = USERDICT_PATH, cache_dir: Path | None = None
    ) -> None:
        self._userdict = userdict
        self._cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._tokenizer: jieba.Tokenizer | None = None
        self._base_freq: dict[str, int] = {}
        self._base_total = 0
        self._base_tags: dict[str, str] = {}
        self._names: frozenset[str] = frozenset()
        # The key of the loaded dictionary: the names' frequencies are cached under it.
        self._dictionary = ""

    @property
    def initialized(self) -> bool:
        return self._tokenizer is not None

    @property
    def names(self) -> frozenset[str]:
        """The organisation names currently in the dictionary."""
        return self._names

    def initialize(self) -> None:
        """Load jieba's dictionary with the postal terms (from the cache when it has them)."""
        if self._tokenizer is not None:
            return
        started = time.perf_counter()
        self._dictionary = key = self._dictionary_key()
        path = self._cache_dir / f"{DICTIONARY_PREFIX}{key[:20]}.npz"
        tokenizer = jieba.Tokenizer()
        if not _load_dictionary(tokenizer, path, key):
            self._build_dictionary(tokenizer)
            _save_dictionary(tokenizer, path, key)
        tokenizer.initialized = True
        # Shared, not copied (15 MB): nothing adds words to this tokenizer, `_rebuild`
        # adds the names to a copy.
        self._base_freq = tokenizer.FREQ
        self._base_total = int(tokenizer.total)
        self._base_tags = tokenizer.user_word_tag_tab
        self._tokenizer = tokenizer
        if self._names:
            self._rebuild(self._names)
        logger.info("jieba segmenter ready in %.2f s", time.perf_counter() - started)

    def add_names(self, names: Iterable[str]) -> None:
        """Add organisation names (sites, segments, transfer points) to the dictionary."""
        self.set_names(self._names | {n.strip() for n in names})

    def set_names(self, names: Iterable[str]) -> None:
        """Replace the organisation names (on re-import: removed units must go)."""
        wanted = frozenset(n for n in (name.strip() for name in names) if len(n) >= 2)
        if wanted == self._names:
            return
        self._names = wanted
        if self._tokenizer is not None:
            self._rebuild(wanted)

    def cut(self, text: str) -> list[str]:
        """The words of `text`, whitespace dropped."""
        return [word for word in self._require().cut(text) if not word.isspace()]

    def tokenize(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) for each word of `text`, whitespace dropped."""
        return [
            (word, start, end)
            for word, start, end in self._require().tokenize(text, HMM=False)
            if not word.isspace()
        ]

    def _require(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            # Lazy loading would block the event loop for ~0.4 s inside a handler.
            raise RuntimeError("Segmenter.initialize() must be called at start-up")
        return self._tokenizer

    def _rebuild(self, names: frozenset[str]) -> None:
        tokenizer = jieba.Tokenizer()
        tokenizer.FREQ = dict(self._base_freq)
        tokenizer.total = self._base_total
        tokenizer.user_word_tag_tab = dict(self._base_tags)
        tokenizer.initialized = True
        ordered = sorted(names)
        digest = hashlib.sha256(f"{self._dictionary}\nfloor {_NAME_FREQ_FLOOR}\n".encode())
        digest.update("\n".join(ordered).encode())
        key = digest.hexdigest()
        path = self._cache_dir / f"{NAMES_PREFIX}{key[:20]}.npz"
        known = _load_name_freqs(path, key, len(ordered))
        if known is not None:
            for name, freq in zip(ordered, known, strict=True):
                tokenizer.add_word(name, freq, "nt")
        else:
            # Each suggestion depends on the names added before it: in this order only.
            freqs = []
            for name in ordered:
                freqs.append(max(int(tokenizer.suggest_freq(name, False)), _NAME_FREQ_FLOOR))
                tokenizer.add_word(name, freqs[-1], "nt")
            write_arrays(
                path,
                {"key": np.array(key), "freqs": np.array(freqs, dtype=np.int64)},
                what=_NAMES_WHAT,
                keep=_DICTIONARY_KEEP,
                prefix=NAMES_PREFIX,
            )
        self._tokenizer = tokenizer
        logger.debug("segmenter dictionary rebuilt with %d organisation names", len(names))

    def _dictionary_key(self) -> str:
        digest = hashlib.sha256(
            f"format {_DICTIONARY_FORMAT}\njieba {jieba.__version__}\n".encode()
        )
        if self._userdict is not None:
            digest.update(self._userdict.read_bytes())
        return digest.hexdigest()

    def _build_dictionary(self, tokenizer: jieba.Tokenizer) -> None:
        """jieba's own dictionary parsed, plus the postal terms."""
        tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(tokenizer.get_dict_file())
        # Else load_userdict would initialize it again, jieba's way.
        tokenizer.initialized = True
        if self._userdict is not None:
            # Given a path, jieba opens the file and never closes it (a ResourceWarning).
            with self._userdict.open("rb") as userdict:
                tokenizer.load_userdict(userdict)


def _load_dictionary(tokenizer: jieba.Tokenizer, path: Path, key: str) -> bool:
    """Fills `tokenizer` from the cache file for `key`; False when there is none usable."""
    stored = read_arrays(path, _WHAT)
    if stored is None:
        return False
    try:
        if str(stored["key"]) != key:
            return False
        words = array_strings(stored["words"])
        freqs = stored["freqs"].tolist()
        tagged, tags = array_strings(stored["tagged"]), array_strings(stored["tags"])
        total = int(stored["total"])
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        logger.warning("%s cache %s unreadable (%s): parsing instead", _WHAT, path, exc)
        return False
    if len(words) != len(freqs) or len(tagged) != len(tags):
        logger.warning("%s cache %s inconsistent: parsing instead", _WHAT, path)
        return False
    tokenizer.FREQ = dict(zip(words, freqs, strict=True))
    tokenizer.total = total
    tokenizer.user_word_tag_tab = dict(zip(tagged, tags, strict=True))
    return True


def _load_name_freqs(path: Path, key: str, count: int) -> list[int] | None:
    stored = read_arrays(path, _NAMES_WHAT)
    if stored is None:
        return None
    try:
        if str(stored["key"]) != key:
            return None
        freqs: list[int] = stored["freqs"].tolist()
    except (KeyError, ValueError, TypeError) as exc:
        logger.warning("%s cache %s unreadable (%s): suggesting again", _NAMES_WHAT, path, exc)
        return None
    if len(freqs) != count or not all(isinstance(f, int) and f > 0 for f in freqs):
        logger.warning("%s cache %s inconsistent: suggesting again", _NAMES_WHAT, path)
        return None
    return freqs


def _save_dictionary(tokenizer: jieba.Tokenizer, path: Path, key: str) -> None:
    words = strings_array(list(tokenizer.FREQ))
    tagged = strings_array(list(tokenizer.user_word_tag_tab))
    tags = strings_array(list(tokenizer.user_word_tag_tab.values()))
    if words is None or tagged is None or tags is None:
        logger.warning("%s not cached: a word holds the separator", _WHAT)
        return
    freqs = np.fromiter(tokenizer.FREQ.values(), dtype=np.int64, count=len(tokenizer.FREQ))
    write_arrays(
        path,
        {
            "key": np.array(key),
            "words": words,
            "freqs": freqs,
            "tagged": tagged,
            "tags": tags,
            "total": np.array(tokenizer.total, dtype=np.int64),
        },
        what=_WHAT,
        keep=_DICTIONARY_KEEP,
        prefix=DICTIONARY_PREFIX,
    )
