"""Updates through the inbox (db/inbox.py): stored before they are acknowledged, then
handled by workers, each in one transaction with the row that says it is done.

PTB's updater (polling) and its webhook server put every update they receive into the
application's update queue, and acknowledge it when ``put`` returns: the next getUpdates
offset moves past it, or the webhook answers 200. ``InboxQueue.put`` stores the update and
returns only once that is committed (if it raises, the webhook answers 500 and polling
asks again). Workers take the chats' heads from the table, so the same code serves one
process on SQLite and any number of instances sharing one PostgreSQL.

The handlers of an update share one session (db/session.py, SharedTransaction): the first
block of them that changes something commits with the row marked done, before the reply
goes out. A kill before that commit undoes the update (it is handled again, maybe sending
a reply twice); after it, the update is done (a reply not yet sent is lost, as it would be
without an inbox). Either way no change is made twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application, Job

from bot.app.sanitize import clean_update_data
from bot.clock import Clock
from bot.logs import LoggedApplication
from bot.views import texts
from db.announcements import Listener
from db.inbox import (
    ANNOUNCED_TOPIC,
    ChatHolder,
    ChatHolders,
    ClaimedUpdate,
    announce_pending,
    claim_next_update,
    mark_update_done,
    mark_update_failed,
    store_update,
)
from db.session import Database, SharedTransaction

logger = logging.getLogger(__name__)

# An idle worker of this instance looks this often even if nothing woke it: a safety net
# (stores in this process wake a worker, other instances announce theirs) …
IDLE_POLL_SECONDS = 30.0
# … and this often while announcements cannot be heard (PostgreSQL's listening failed, or
# has not begun). One look for the instance, not one per worker: every worker timing its
# own looks made as many as there are workers (`updates.concurrent_chats`), for nothing.
DEAF_POLL_SECONDS = 2.0
# On stop, updates under way get this long to finish; what is left is handled after restart.
STOP_TIMEOUT_SECONDS = 10.0


def chat_of(update: Update) -> int:
    """The key that orders updates: the chat, or the user for updates without one."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


# Wakes the idle worker kept for an update being stored (UpdateWorkers.keep_idle_worker).
Wake = Callable[[], None]


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue: an update put here is stored in the inbox, for an
    idle worker of this instance to take, or, when all are busy, announced to the others;
    anything else (PTB's stop signal) is queued as usual."""

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__()
        self._db = db
        self._clock = clock
        self._workers: UpdateWorkers | None = None

    def served_by(self, workers: UpdateWorkers) -> None:
        """The workers that look for what is stored here, and announce it when all are busy."""
        self._workers = workers

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)
            return
        # Kept before the store (two stores at once keep two workers), woken after the
        # commit, whatever happened: a look for nothing is harmless.
        workers = self._workers
        wake = workers.keep_idle_worker() if workers is not None else None
        # Announced unless this instance is idle: with updates in hand here, another
        # instance's idle worker may be quicker to take it (whoever claims it first handles
        # it). A receiver handing every update to its own idle workers did all the work
        # while the worker instances waited (bench/instances.py: 400 / 0 / 0).
        announcer = (
            workers.announcer
            if workers is not None and (wake is None or workers.in_hand > 0)
            else None
        )
        new = False
        try:
            async with self._db.session() as session:
                new = await store_update(
                    session=session,
                    update_id=item.update_id,
                    chat_id=chat_of(item),
                    payload=json.dumps(item.to_dict()),
                    now=self._clock.now(),
                    announcer=announcer,
                )
        except Exception as error:
            # As a network error: the updater asks for the same updates again after a pause
            # (any other error would end its polling), the webhook answers 500.
            logger.exception("update %s could not be stored", item.update_id)
            raise NetworkError(f"the inbox could not store update {item.update_id}") from error
        finally:
            if new and workers is not None:
                workers.note_stored(item.update_id)
            if wake is not None:
                wake()
            elif workers is not None:
                # One that became idle during the store: its look may have begun too soon.
                workers.wake_one()
        if not new:
            logger.info("update %s arrived again; it was stored before", item.update_id)


@dataclass
class _Handling:
    """The update a worker is handling in this task: what went wrong, if anything."""

    error: BaseException | None = None


_handling: ContextVar[_Handling | None] = ContextVar("handling", default=None)


def _query_already_answered(error: Exception) -> bool:
    """Telegram's answer to a second answerCallbackQuery: the press was answered before
    this update was handled again (after a crash), or too long ago."""
    return isinstance(error, BadRequest) and "query is too old" in str(error).lower()


class InboxApplication(LoggedApplication):
    """The application whose handler failures its workers hear of (PTB hands them to the
    error handler and carries on, so the worker could not tell otherwise)."""

    async def process_error(
        self,
        update: object | None,
        error: Exception,
        job: Job[Any] | None = None,
        coroutine: Awaitable[Any] | Generator[asyncio.Future[object], None, Any] | None = None,
    ) -> bool:
        handling = _handling.get()
        if handling is not None and job is None and update is not None:
            if _query_already_answered(error):
                # Nothing is wrong for the user: the client stopped waiting long ago.
                logger.warning("a button press was answered already: %s", error)
                return False
            handling.error = error
        return await super().process_error(update, error, job, coroutine)


def _described(error: BaseException) -> str:
    """What a failed update's row keeps of its error."""
    return f"{type(error).__name__}: {error}"


class Outcome(enum.Enum):
    """What a worker's look came to."""

    NONE = "no head to take"
    HANDLED = "handled one"
    MORE = "handled one, and made or left a head"  # look again at once


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # its worker may have been cancelled meanwhile (stop)
        waiter.set_result(None)


class UpdateWorkers:
    """``concurrency`` workers; each takes the next head, handles it, and looks again."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        db: Database,
        clock: Clock,
        concurrency: int,
    ) -> None:
        self._application = application
        self._db = db
        self._clock = clock
        self.concurrency = concurrency
        self._holders: ChatHolders | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._looker: asyncio.Task[None] | None = None
        self._idle: deque[asyncio.Future[None]] = deque()
        self._stopping = False
        # Names these workers in their announcements: they need not hear their own. An
        # update another instance stored when its own workers were all busy wakes an idle
        # worker here.
        self.announcer = secrets.token_hex(8)
        self._announcements = Listener(db.url, ANNOUNCED_TOPIC, self.announcer, self.wake)
        # What may wait unclaimed, by the number of its note: updates stored here (by id;
        # a claim of one takes it off) and anything else that may have made a head (the
        # backlog at start, an announcement, the idle look, scheduled work letting go of
        # chats: by a negative number). A look that found nothing, skipping no chat, takes
        # off what was noted before it began. A worker that finishes an update looks again
        # only if something is left, or its chat's next update waits: always looking again
        # was a claim in vain after nearly every update (bench/per_update.py).
        self._unclaimed: dict[int, int] = {}
        self._notes = 0
        self._stop_hearing_locks: Callable[[], None] | None = None
        # Claims made, and those that found no head (each a statement for nothing).
        self.looks = 0
        self.looks_in_vain = 0
        # Updates this instance's workers are handling now.
        self.in_hand = 0

    def keep_idle_worker(self) -> Wake | None:
        """An idle worker no other wake may take, and what wakes it; None when every worker
        is busy (each looks again when it finishes)."""
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                return partial(_resolve, waiter)
        return None

    def note_stored(self, update_id: int) -> None:
        """An update was stored here: a look is due until one takes it (or finds none)."""
        self._notes += 1
        self._unclaimed[update_id] = self._notes

    def wake(self) -> None:
        """A head may have been made that no look of this instance knows of: one idle
        worker looks, and busy ones when they finish, until a look finds none."""
        self._notes += 1
        self._unclaimed[-self._notes] = self._notes
        self.wake_one()

    def wake_one(self) -> None:
        """One idle worker looks (for what was noted)."""
        wake = self.keep_idle_worker()
        if wake is not None:
            wake()

    def _took(self, update_id: int) -> None:
        self._unclaimed.pop(update_id, None)

    def _found_none(self, since_note: int) -> None:
        """A look that began after note ``since_note`` and skipped no chat found nothing:
        all noted until then is claimed."""
        self._unclaimed = {key: n for key, n in self._unclaimed.items() if n > since_note}

    def _wake_all(self) -> None:
        while self._idle:
            _resolve(self._idle.popleft())

    async def start(self) -> None:
        self._stopping = False
        self._holders = ChatHolders(self._db)
        self._tasks = [
            asyncio.create_task(self._work(self._holders.holder()), name=f"update-worker-{n}")
            for n in range(self.concurrency)
        ]
        self._listener = asyncio.create_task(self._announcements.run(), name="inbox-announcements")
        self._looker = asyncio.create_task(self._look_now_and_then(), name="inbox-idle-look")
        self._stop_hearing_locks = self._db.process_locks.on_skipped_heads_freed(self.wake)
        # What waited before the start (a restart's backlog) is noted nowhere: the workers
        # look until a look finds nothing.
        self.wake()
        logger.info("%d update workers started", self.concurrency)

    async def stop(self) -> None:
        """Let updates under way finish (briefly); the rest stay pending for the next start."""
        self._stopping = True
        if self._stop_hearing_locks is not None:
            self._stop_hearing_locks()
            self._stop_hearing_locks = None
        self._wake_all()
        for task in (self._listener, self._looker):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._listener = self._looker = None
        tasks, self._tasks = self._tasks, []
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in running:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._holders is not None:
            await self._holders.close()
            self._holders = None
        await self._hand_over()
        logger.info(
            "update workers stopped after %d looks, %d of them in vain",
            self.looks,
            self.looks_in_vain,
        )

    async def _hand_over(self) -> None:
        """Nobody here looks again: heads a finishing worker would have taken are the other
        instances' (PostgreSQL; they would find them at their idle look anyway)."""
        try:
            async with self._db.session() as session:
                await announce_pending(session=session, announcer=self.announcer)
        except Exception:
            logger.warning("could not ask other instances to look at the inbox", exc_info=True)

    async def _look_now_and_then(self) -> None:
        while not self._stopping:
            await asyncio.sleep(
                IDLE_POLL_SECONDS if self._announcements.hearing else DEAF_POLL_SECONDS
            )
            # One note for everything noted so far: a look that skips no chat is rare under
            # steady load, and ids claimed by other instances would pile up meanwhile.
            self._unclaimed.clear()
            self.wake()

    async def _work(self, holder: ChatHolder) -> None:
        loop = asyncio.get_running_loop()
        look = True
        while not self._stopping:
            # Idle is announced before looking: a store during the look wakes this one.
            waiter: asyncio.Future[None] = loop.create_future()
            self._idle.append(waiter)
            if look or self._unclaimed:
                try:
                    outcome = await self.handle_next(holder, waiter)
                except Exception:
                    logger.exception("could not take an update from the inbox; trying again")
                    # Its look may have been taken off the idle list: not waited for.
                    with contextlib.suppress(ValueError):
                        self._idle.remove(waiter)
                    await asyncio.sleep(DEAF_POLL_SECONDS)
                    look = True
                    continue
                if outcome is not Outcome.NONE:
                    # Busy since its claim (off the idle list): idle again at the top.
                    look = outcome is Outcome.MORE
                    continue
            if not self._stopping:
                await waiter  # woken by a store, an announcement, stop, or the idle look
            look = True
            with contextlib.suppress(ValueError):
                self._idle.remove(waiter)

    def _busy(self, waiter: asyncio.Future[None]) -> None:
        """The worker waiting on ``waiter`` took an update: it is idle no more. A store
        that kept it to look while it was claiming gets another worker instead (this one
        may have taken another update)."""
        try:
            self._idle.remove(waiter)
        except ValueError:
            self.wake_one()

    async def handle_next(self, holder: ChatHolder, waiter: asyncio.Future[None]) -> Outcome:
        """Handle the next head, if there is one."""
        async with self._db.shared_transaction() as shared:
            skipped = holder.held_here
            since_note = self._notes
            claimed = await claim_next_update(session=shared.session, skip_chats=skipped)
            self.looks += 1
            if claimed is None:
                self.looks_in_vain += 1
                if not skipped:
                    self._found_none(since_note)
                return Outcome.NONE
            self._took(claimed.update_id)
            self._busy(waiter)
            self.in_hand += 1
            try:
                more = await self._handle(shared, holder, claimed)
            finally:
                self.in_hand -= 1
        return Outcome.MORE if more else Outcome.HANDLED

    async def _handle(
        self, shared: SharedTransaction, holder: ChatHolder, claimed: ClaimedUpdate
    ) -> bool:
        """Handle a claimed update and mark it done, in the claim's transaction; True when
        the chat's next update waits behind it (or it failed: a look settles what is left)."""
        next_waits = False

        async def done(error: str | None = None) -> None:
            nonlocal next_waits
            next_waits = await mark_update_done(
                session=shared.session, claimed=claimed, now=self._clock.now(), error=error
            )

        shared.before_first_commit(done)
        async with holder.holding(claimed.chat_id):
            # The claim only read, and the chat is held: the next worker may claim (on
            # SQLite the claims take the process's one writer in turn).
            shared.let_writer_go()
            error = await self._process(claimed)
            if error is None:
                try:
                    await shared.commit()
                    return next_waits
                except Exception as commit_error:
                    # What it held did not happen, though replies may have gone out.
                    logger.exception("update %s: its transaction failed", claimed.update_id)
                    await self._tell_failed(claimed.chat_id)
                    error = commit_error
            elif not shared.has_changes and shared.first_commit_pending:
                # Nothing to undo and not marked yet: done with its error in this
                # transaction, whose row lock keeps other workers off it.
                shared.before_first_commit(partial(done, error=_described(error)))
                await shared.commit()
                logger.warning("update %s failed and is done: %s", claimed.update_id, error)
                return next_waits
            # Still holding the chat: no worker of this process takes the update between
            # the rollback and its being marked (other instances: mark_update_failed).
            await self._settle_failed(shared, claimed, _described(error))
            return True

    async def _process(self, claimed: ClaimedUpdate) -> BaseException | None:
        try:
            data = clean_update_data(json.loads(claimed.payload))
            update = Update.de_json(data, self._application.bot)
        except Exception as error:
            logger.exception("update %s in the inbox cannot be read", claimed.update_id)
            return error
        handling = _Handling()
        token = _handling.set(handling)
        try:
            await self._application.process_update(update)
        except Exception as error:
            # PTB hands handler errors to process_error; this is the application itself.
            logger.exception("update %s could not be handled", claimed.update_id)
            return error
        finally:
            _handling.reset(token)
        return handling.error

    async def _settle_failed(
        self, shared: SharedTransaction, claimed: ClaimedUpdate, error: str
    ) -> None:
        """Done, with the error: a failing update is not tried again and again (what its
        handlers committed before failing stays, the rest is undone). If even this fails
        (the database is down), it stays pending and is tried again later."""
        try:
            await shared.rollback()
            await shared.take_writer()
            marked = await mark_update_failed(
                session=shared.session, claimed=claimed, now=self._clock.now(), error=error
            )
            await shared.commit()
        except Exception:
            logger.exception("update %s failed and could not be marked done", claimed.update_id)
            return
        if marked:
            logger.warning("update %s failed and is done: %s", claimed.update_id, error)
        else:
            logger.warning(
                "update %s failed; another instance took it meanwhile and handles it again "
                "(nothing of this attempt was kept): %s",
                claimed.update_id,
                error,
            )

    async def _tell_failed(self, chat_id: int) -> None:
        try:
            await self._application.bot.send_message(chat_id, texts.INTERNAL_ERROR)
        except Exception:
            logger.exception("could not tell chat %s about the error", chat_id)
