"""Reference data kept in memory: the units, the segments' names and the handler, manager
and admin posts.

Every check step names its site, every confirmed complaint is routed up the unit tree to a
handler, every escalation finds the managers above; reading every unit and post for each
of them costs 80–100 ms with a province's 3,000 units and about a second with 30,000.
They change when the organisation is imported (``org_import`` gets a row, maybe written
by the CLI in another process): the tick reloads them when it sees a newer import, and any
copy older than ``MAX_AGE`` is reloaded at its next use, so a change made some other way
(a post edited in the database) is picked up within minutes on every instance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from db.staff import latest_org_import, list_staff_posts, load_org_units, load_segment_names
from scheduler.complaints import StaffPost
from scheduler.org import OrgUnit, Role

logger = logging.getLogger(__name__)

MAX_AGE = 300.0  # seconds


@dataclass(frozen=True)
class ReferenceData:
    units: Mapping[int, OrgUnit]
    segment_names: Mapping[int, str]  # on every complaint card
    handlers: tuple[StaffPost, ...]
    managers: tuple[StaffPost, ...]
    admins: tuple[StaffPost, ...]
    org_import: int | None  # the newest import when this was read
    loaded_at: float  # monotonic

    def unit_name(self, unit_id: int | None) -> str:
        unit = self.units.get(unit_id) if unit_id is not None else None
        return unit.name if unit is not None else ""


async def read_reference(session: AsyncSession, now: float) -> ReferenceData:
    return ReferenceData(
        units=await load_org_units(session=session),
        segment_names=await load_segment_names(session=session),
        handlers=tuple(await list_staff_posts(session=session, role=Role.HANDLER)),
        managers=tuple(await list_staff_posts(session=session, role=Role.MANAGER)),
        admins=tuple(await list_staff_posts(session=session, role=Role.ADMIN)),
        org_import=await latest_org_import(session=session),
        loaded_at=now,
    )


@dataclass
class ReferenceCache:
    """The current copy; a reload replaces it whole, so a reader never sees half of one."""

    clock: Callable[[], float] = time.monotonic
    _data: ReferenceData | None = field(default=None, init=False)

    async def get(self, session: AsyncSession) -> ReferenceData:
        """The cached copy, read with ``session`` first if there is none or it is old."""
        data = self._data
        if data is None or self.clock() - data.loaded_at > MAX_AGE:
            data = await self.reload(session)
        return data

    async def reload(self, session: AsyncSession) -> ReferenceData:
        self._data = data = await read_reference(session, self.clock())
        logger.info(
            "reference data: %d units, %d segments, %d handler and %d manager posts",
            len(data.units),
            len(data.segment_names),
            len(data.handlers),
            len(data.managers),
        )
        return data

    def seen_import(self) -> int | None:
        return self._data.org_import if self._data is not None else None

    def forget(self) -> None:
        """The next use reads the database again (after an import this process made)."""
        self._data = None
