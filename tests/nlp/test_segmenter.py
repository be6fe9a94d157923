"""The segmenter: jieba's dictionary with the postal terms, parsed once and then loaded from
the cache (exactly the same dictionary), never lazily (that would block the event loop)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nlp.segmenter import DICTIONARY_PREFIX, NAMES_PREFIX, Segmenter

TEXTS = ["东2段信件报刊积压三天了，用户多次打电话投诉", "丰巢快递柜的件被菜鸟驿站代签了"]


def test_cut_before_initialize_is_an_error_not_a_lazy_load() -> None:
    segmenter = Segmenter()
    segmenter.add_names(["东2段", " 城关投递部 ", "x"])
    assert not segmenter.initialized
    assert segmenter.names == {"东2段", "城关投递部"}  # one-character names are noise
    with pytest.raises(RuntimeError, match="initialize"):
        segmenter.cut("东2段积压")


def _dictionary(directory: Path, prefix: str = DICTIONARY_PREFIX) -> Path:
    (path,) = directory.glob(f"{prefix}*.npz")
    return path


def _ready(directory: Path) -> Segmenter:
    segmenter = Segmenter(cache_dir=directory)
    # "北京" is a dictionary word more frequent than a name needs to be: it keeps that.
    segmenter.set_names(["东2段", "城关投递部", "北京"])
    segmenter.initialize()
    return segmenter


def test_the_cached_dictionary_is_the_parsed_one(tmp_path: Path) -> None:
    parsed = _ready(tmp_path)  # the cache is empty: parsed, names suggested, both written
    paths = [_dictionary(tmp_path), _dictionary(tmp_path, NAMES_PREFIX)]
    written = [path.stat().st_mtime_ns for path in paths]
    loaded = _ready(tmp_path)
    assert [path.stat().st_mtime_ns for path in paths] == written  # read, not written again
    for attribute in ("FREQ", "total", "user_word_tag_tab"):
        assert getattr(loaded._require(), attribute) == getattr(parsed._require(), attribute)
    assert [loaded.tokenize(t) for t in TEXTS] == [parsed.tokenize(t) for t in TEXTS]
    assert "丰巢" in loaded.cut(TEXTS[1])  # a postal term of the user dictionary
    assert "东2段" in loaded.cut(TEXTS[0])  # an organisation name


def test_a_damaged_or_foreign_writable_dictionary_is_parsed_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = [_ready(tmp_path).tokenize(t) for t in TEXTS]
    path = _dictionary(tmp_path)
    path.write_bytes(path.read_bytes()[:1000])  # cut short
    with caplog.at_level(logging.WARNING, logger="nlp.cache_files"):
        assert [_ready(tmp_path).tokenize(t) for t in TEXTS] == expected
    assert "unreadable" in caplog.text
    assert _dictionary(tmp_path).stat().st_size > 1000  # written again
    caplog.clear()
    path.chmod(0o666)  # anyone could have replaced it
    with caplog.at_level(logging.WARNING, logger="nlp.cache_files"):
        assert [_ready(tmp_path).tokenize(t) for t in TEXTS] == expected
    assert "writable by others" in caplog.text
