"""The collector paused around large short-lived work, resumed when the last block ends;
libraries loaded for the process's life frozen out of its sight."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bot.heap import collections_paused, pausing_collections
from bot.usecases import reports
from bot.views.cards import MonthFigures
from tests.scheduler.test_monthly_report import sample_report


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


async def test_a_coroutine_pausing_collections_resumes_them_once_it_returned() -> None:
    @pausing_collections
    async def work(fail: bool) -> bool:
        await asyncio.sleep(0)
        if fail:
            raise ValueError
        return gc.isenabled()

    assert await work(fail=False) is False
    assert gc.isenabled()
    with pytest.raises(ValueError):
        await work(fail=True)
    assert gc.isenabled()


async def test_the_report_renderers_libraries_are_frozen_once_loaded() -> None:
    """bench/report_at_size.py: full collections of 0.05-0.23 s in the rendering thread,
    walking matplotlib's and openpyxl's objects, held the GIL and so the event loop."""
    gc.unfreeze()
    reports._renderers.cache_clear()
    try:
        files = await reports.render(MonthFigures(sample_report(), as_of=None))
        assert files.xlsx and files.chart
        assert gc.get_freeze_count() > 10_000  # the libraries and the font, loaded by now
    finally:
        gc.unfreeze()
        reports._renderers.cache_clear()
