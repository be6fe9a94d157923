"""Once a day: personal data older than ``[retention] personal_data_years`` is anonymised
(db/retention.py says what). Postal rules keep complaint files three years: the default."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.views import texts
from db.jobs import claim_job
from db.retention import Anonymised, anonymise_personal_data

logger = logging.getLogger(__name__)


async def anonymise_old_personal_data(services: Services) -> Anonymised | None:
    now = services.clock.now()
    years = services.settings.retention.personal_data_years
    try:
        before = now.replace(year=now.year - years)
    except ValueError:  # 29 February
        before = now.replace(year=now.year - years, day=28)
    async with services.db.session() as session:
        if not await claim_job(session=session, key=f"retention:{now.date()}", now=now):
            return None
        done = await anonymise_personal_data(
            session=session, before=before, placeholder=texts.ANONYMISED
        )
    if done.total:
        logger.info("personal data before %s anonymised: %s", before.date(), done)
    return done
