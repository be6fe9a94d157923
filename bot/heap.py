"""The garbage collector and the event loop: a full collection walks every live container
object on whichever thread allocates, holding the GIL, so a large heap stalls the loop.

Measured by bench/report_at_size.py on the generated province: full collections of
0.2-0.8 s while a region's report was built, before start-up's objects were frozen, and
0.05-0.2 s each, many times over, while the report's history was alive; then, with both
mended, 0.05-0.23 s each in the worker thread rendering the report, walking matplotlib and
openpyxl, loaded by the first report (a collection in any thread holds the GIL, and so the
loop, as long as it walks); 0.015-0.02 s once they were frozen too.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

_paused = 0
_FREE_SLICE = 5000
P = ParamSpec("P")
T = TypeVar("T")


def freeze_lasting() -> None:
    """What was built so far lives as long as the process (start-up's jieba dictionary,
    trained model, catalog and libraries; the report renderers' libraries, loaded at the
    first report): out of the collector's sight from now on. Anything else alive now is
    still freed when its last reference goes; only its cycles would stay."""
    gc.freeze()


@contextmanager
def collections_paused() -> Iterator[None]:
    """No automatic collection while the block runs (nested and concurrent blocks: until
    the last ends). For work that builds many short-lived objects without cycles (a
    report's history rows): reference counting frees them at the end, and the collector,
    which would walk them again and again meanwhile, resumes then."""
    global _paused
    if _paused == 0:
        gc.disable()
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0:
            gc.enable()


def pausing_collections(
    function: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """``collections_paused`` while the coroutine runs, resumed once it has returned: its
    locals (the large short-lived work) are freed by then, only what it returns is left
    for the collector to walk."""

    @wraps(function)
    async def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        with collections_paused():
            return await function(*args, **kwargs)

    return paused


def free_in_slices(rows: list[Any]) -> None:
    """Free the rows a slice at a time: freeing them all at once is one step that holds the
    GIL, and so the event loop, for as long as it takes (a province's year: a while)."""
    while rows:
        del rows[-_FREE_SLICE:]
