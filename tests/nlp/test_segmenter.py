"""The segmenter refuses to load jieba lazily (that would block the bot's event loop)."""

from __future__ import annotations

import pytest

from nlp.segmenter import Segmenter


def test_cut_before_initialize_is_an_error_not_a_lazy_load() -> None:
    segmenter = Segmenter()
    segmenter.add_names(["东2段", " 城关投递部 ", "x"])
    assert not segmenter.initialized
    assert segmenter.names == {"东2段", "城关投递部"}  # one-character names are noise
    with pytest.raises(RuntimeError, match="initialize"):
        segmenter.cut("东2段积压")
