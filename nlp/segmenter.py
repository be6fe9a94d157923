"""jieba word segmentation with the postal user dictionary and the organisation's names."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import jieba

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
USERDICT_PATH = DATA_DIR / "userdict.txt"

# Organisation names must win over the general dictionary ("东2段" would otherwise be cut
# into 东/2/段 and "城关投递部" into 城关/投递/部), yet stay rare enough not to swallow
# neighbouring words; jieba's own suggestion is the smallest frequency that keeps a
# name whole, this keeps it whole in more contexts.
_NAME_FREQ_FLOOR = 2000


class Segmenter:
    """A private jieba tokenizer: postal terms plus the organisation's own names.

    Construction is cheap; `initialize()` loads the dictionary (~0.4 s, ~90 MB) and must be
    called once at start-up (the bot does it in post_init), never lazily in a handler.
    Name updates build a fresh tokenizer from a snapshot and swap it in, so a reader in
    another thread never sees a half-updated dictionary and old names do not linger.
    """

    def __init__(
        self, *, userdict: Path | None = USERDICT_PATH, cache_dir: Path | None = None
    ) -> None:
        self._userdict = userdict
        self._cache_dir = cache_dir
        self._tokenizer: jieba.Tokenizer | None = None
        self._base_freq: dict[str, int] = {}
        self._base_total = 0
        self._base_tags: dict[str, str] = {}
        self._names: frozenset[str] = frozenset()

    @property
    def initialized(self) -> bool:
        return self._tokenizer is not None

    @property
    def names(self) -> frozenset[str]:
        """The organisation names currently in the dictionary."""
        return self._names

    def initialize(self) -> None:
        """Load jieba's dictionary (from its cache when fresh) and the postal terms."""
        if self._tokenizer is not None:
            return
        started = time.perf_counter()
        tokenizer = jieba.Tokenizer()
        tokenizer.tmp_dir = str(self._writable_cache_dir())
        tokenizer.initialize()
        if self._userdict is not None:
            # Given a path, jieba opens the file and never closes it (a ResourceWarning).
            with self._userdict.open("rb") as userdict:
                tokenizer.load_userdict(userdict)
        self._base_freq = dict(tokenizer.FREQ)
        self._base_total = int(tokenizer.total)
        self._base_tags = dict(tokenizer.user_word_tag_tab)
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
        tokenizer.tmp_dir = self._tokenizer.tmp_dir if self._tokenizer else None
        tokenizer.FREQ = dict(self._base_freq)
        tokenizer.total = self._base_total
        tokenizer.user_word_tag_tab = dict(self._base_tags)
        tokenizer.initialized = True
        for name in sorted(names):
            suggested = int(tokenizer.suggest_freq(name, False))
            tokenizer.add_word(name, max(suggested, _NAME_FREQ_FLOOR), "nt")
        self._tokenizer = tokenizer
        logger.debug("segmenter dictionary rebuilt with %d organisation names", len(names))

    def _writable_cache_dir(self) -> Path:
        # jieba caches its parsed dictionary (a few MB) to skip re-parsing at start-up; a
        # failed write only costs time, so fall back to the system temp dir quietly.
        if self._cache_dir is not None:
            try:
                self._cache_dir.mkdir(parents=True, exist_ok=True)
            except OSError:
                logger.warning("jieba cache dir %s is not writable; using temp", self._cache_dir)
            else:
                return self._cache_dir
        return Path(tempfile.gettempdir())
