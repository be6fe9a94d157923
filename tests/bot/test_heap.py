"""The collector paused around large short-lived work, resumed when the last block ends."""

from __future__ import annotations

import gc

import pytest

from bot.heap import collections_paused


def test_collections_resume_when_the_last_block_ends_even_on_an_error() -> None:
    assert gc.isenabled()
    with collections_paused():
        assert not gc.isenabled()
        with collections_paused():  # a second report meanwhile
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collections_paused():
        raise ValueError
    assert gc.isenabled()
