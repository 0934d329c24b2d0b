"""The projection and its runner: read the log in pages, fold each page into rows, write rows and tracking
in one transaction. The same loop follows the log live, catches up on a read, and rebuilds."""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    Notification,
    OperationalError,
    Tracking,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import PoolTimeout

from projections.fold import Fold, Rows, StoredRow
from projections.tables import CouncilView, PostgresCouncilView, SQLiteCouncilView

log = logging.getLogger(__name__)
OUTAGES = (OperationalError, InterfaceError, psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError)
PAGE = 2000
REBUILD_PAGE = 5000  # events per page (and per transaction) of a rebuild
ROUND = 1.0  # seconds `run` writes before it looks at its stop signal again
TRACKING_TABLE = "notification_tracking"  # PostgreSQL: the library's name for an unnamed environment


class CouncilProjection(Projection[Any]):
    """Every view of the council from one fold of the log."""

    name = "council"

    def __init__(self, view: CouncilView, load: Callable[[UUID, int | None], Any],
                 decode: Callable[[StoredRow], Any] | None = None) -> None:
        super().__init__(view)
        self.fold = Fold(load, decode=decode)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(tracking.notification_id, domain_event)])

    def process_batch(self, events: Sequence[tuple[int, Any]], start: int | None = None) -> None:
        """Fold and write one batch on top of `start`; a batch that fails leaves nothing ahead of the view (the
        cached aggregates it moved are forgotten)."""
        try:
            self.view.apply(self.fold_batch(events, start), Tracking("council", events[-1][0]), start=start)
        except BaseException:
            self.forget()
            raise

    def fold_batch(self, events: Sequence[tuple[int, Any]], start: int | None = None) -> Rows:
        self.fold.start(start)
        rows = Rows()
        for position, event in events:
            self.fold.apply(position, event, rows)
        return rows.finish()

    def fold_stored(self, page: Sequence[StoredRow], start: int | None = None) -> Rows:
        """`fold_batch` of stored events as the log keeps them (Fold.apply_stored)."""
        self.fold.start(start)
        rows = Rows()
        self.fold.apply_stored(page, rows)
        return rows.finish()

    def forget(self) -> None:
        """After a failed batch the cached aggregates may be ahead of the view: start them afresh."""
        self.fold.forget()


def open_view(env: dict[str, str], generation: int | None = None) -> CouncilView:
    """A view with a connection pool of its own (`council db init`, tools, tests), at the generation readers use
    unless told otherwise. A running process uses `view_on` the Council's datastore instead."""
    factory = InfrastructureFactory.construct(env=_view_env(env))
    cls = SQLiteCouncilView if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite" else PostgresCouncilView
    view: CouncilView = factory.tracking_recorder(cls)  # type: ignore[assignment]
    view.generation = generation if generation is not None else view.active_generation()
    return view


def view_on(datastore: Any, generation: int | None = None) -> CouncilView:
    """A view through the Council's own datastore (its one pool): closing the view leaves the pool open."""
    view: CouncilView
    if isinstance(datastore, SQLiteDatastore):
        view = SQLiteCouncilView(datastore)
    else:  # the tracking table `open_view`'s factory names (an unnamed environment): the same rows
        view = PostgresCouncilView(datastore, tracking_table_name=TRACKING_TABLE)
    view.owns_datastore = False
    view.generation = generation if generation is not None else view.active_generation()
    return view


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a rebuild's few seconds (then as it was): the fold makes a handful
    of short-lived containers per event and no cycles, and the collections they set off took a fifth of its time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _view_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "CREATE_TABLE": "n", "APPLICATION_RECORDER_TOPIC": ""}


class EventLog(Protocol):
    """What the read side needs of the write side: its notification log, its mapper, its repository (the
    Council application is one; the read side never imports the service layer)."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...

    @property
    def repository(self) -> Any: ...


class Runner:
    """Applies the log to a view page by page, as the one holder of the view's writer lease; exactly once because
    rows and tracking commit together, on top of the position they were folded from."""

    def __init__(self, app: EventLog, view: CouncilView, page: int = PAGE, follow_active: bool = True) -> None:
        self.app, self.view, self.page, self.follow_active = app, view, page, follow_active
        self.projection = CouncilProjection(view, self._load, self._decode)
        self.lock = threading.Lock()

    def _load(self, stream: UUID, version: int | None) -> Any:
        return self.app.repository.get(stream, version=version)

    def _decode(self, row: StoredRow) -> Any:
        """The domain event of a stored row (what the library's mapper makes of it)."""
        position, stream, version, topic, state = row
        return self.app.mapper.to_domain_event(Notification(
            id=position, originator_id=UUID(stream), originator_version=version, topic=topic, state=state))

    def _reads_stored(self) -> bool:
        """Whether stored states are plain JSON (no cipher, no compressor): then a rebuild folds them as stored."""
        mapper = self.app.mapper
        return (getattr(mapper, "cipher", None) is None and getattr(mapper, "compressor", None) is None
                and isinstance(getattr(mapper, "transcoder", None), JSONTranscoder))

    def _scan(self, position: int, limit: int) -> list[StoredRow]:
        """Up to `limit` stored events after `position` as plain tuples (StoredRow). On PostgreSQL in binary
        format, the stream's text made by the server: no UUID objects, no hex-escaped bytea."""
        recorder = self.app.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            datastore = recorder.datastore
            statement = sql.SQL("SELECT notification_id, originator_id::text, originator_version, topic, state "
                                "FROM {}.{} WHERE notification_id > %s ORDER BY notification_id LIMIT %s").format(
                sql.Identifier(datastore.schema), sql.Identifier(recorder.events_table_name))
            with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row, binary=True) as curs:
                curs.execute(statement, (position, limit), prepare=True)
                return curs.fetchall()
        if hasattr(recorder, "scan"):
            return recorder.scan(position + 1, limit)  # type: ignore[no-any-return]
        return [(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                for n in recorder.select_notifications(start=position + 1, limit=limit)]

    def catch_up(self, until: int | None = None, progress: Callable[[int], None] | None = None,
                 deadline: float | None = None) -> int:
        """Apply pages until the log (or `until`) is reached, or the page at hand when `deadline` (a
        `time.monotonic()` value) has passed; returns the view's position. When another writer holds the
        view's lease it returns at once, writing nothing: that writer is moving the position."""
        with self.lock:
            while True:
                self.follow()
                position = self.view.position()
                if until is not None and position >= until:
                    return position
                with self.view.writer() as held:
                    if not held:
                        return position
                    if self.follow_active and self.view.active_generation() != self.view.generation:
                        continue  # a rebuild switched the readers while the lease was taken: follow them
                    return self._apply_pages(until, progress, deadline)

    def _apply_pages(self, until: int | None, progress: Callable[[int], None] | None,
                     deadline: float | None) -> int:
        position = self.view.position()
        while until is None or position < until:
            events = self._read(position)
            if not events:
                break
            try:
                self.projection.process_batch(events, start=position)
            except IntegrityError:
                # A writer that did not take the lease (a process of an older version) applied these first:
                # nothing is lost, go on from its position. A conflict that does not move it is not a race.
                moved = self.view.position()
                if moved == position:
                    raise
                position = moved
                continue
            position = events[-1][0]
            if progress is not None:
                progress(len(events))
            if deadline is not None and time.monotonic() >= deadline:
                break
        return position

    def _read(self, position: int) -> list[tuple[int, Any]]:
        """The next page of the log after `position`, decoded: (notification id, domain event) pairs."""
        page = self.app.recorder.select_notifications(start=position + 1, limit=self.page)
        return [(notification.id, self.app.mapper.to_domain_event(notification)) for notification in page]

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Fill a fresh (unread) generation from the whole log, in three threads: a reader fetches the next
        page of stored events, this thread folds the page before it (`fold_stored`, or decoded events where the
        states are not plain JSON), and a writer commits each page's rows and tracking, in order. Database waits
        overlap the Python work. The caller holds the generation's lease, so there are no conflicts to retry."""
        stored = self._reads_stored()
        fetched: queue.Queue[list[Any] | None] = queue.Queue(maxsize=2)
        pages: queue.Queue[tuple[Rows, Tracking] | None] = queue.Queue(maxsize=2)
        failed: list[BaseException] = []
        done = threading.Event()  # set when this thread stops taking pages: the reader ends too

        def offer(page: list[Any] | None) -> bool:
            while not done.is_set():
                with contextlib.suppress(queue.Full):
                    fetched.put(page, timeout=0.1)
                    return True
            return False

        def read(position: int) -> None:
            try:
                while not done.is_set():
                    page: list[Any] = self._scan(position, self.page) if stored else self._read(position)
                    if not page or not offer(page):
                        break
                    position = page[-1][0]
            except BaseException as error:  # not swallowed: the folding thread re-raises it
                failed.append(error)
            finally:
                offer(None)

        def write() -> None:
            while (item := pages.get()) is not None:
                if not failed:
                    try:
                        self.view.apply(*item, fresh=True)
                    except BaseException as error:  # not swallowed: the folding thread re-raises it
                        failed.append(error)

        position = self.view.position()
        reader = threading.Thread(target=read, args=(position,), name="log-reader")
        writer = threading.Thread(target=write, name="view-writer")
        with _collector_paused():
            reader.start()
            writer.start()
            try:
                while not failed and (page := fetched.get()) is not None:
                    rows = (self.projection.fold_stored(page, position) if stored
                            else self.projection.fold_batch(page, position))
                    position = page[-1][0]
                    pages.put((rows, Tracking("council", position)))
                    if progress is not None:
                        progress(len(page))
            finally:
                done.set()
                pages.put(None)
                writer.join()
                reader.join()
        if failed:
            raise failed[0]
        return position

    def follow(self) -> None:
        """After a rebuild switched readers to new tables, live runners write there too (called under `lock`)."""
        if self.follow_active and (active := self.view.active_generation()) != self.view.generation:
            self.view.generation = active
            self.projection.forget()

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Follow the log until `stop` is set; a lost database connection is retried, not fatal. While another
        process holds the lease (a worker catching up for a read) this one waits for the next round."""
        while not stop.is_set():
            started = time.monotonic()
            try:  # rounds of about ROUND seconds, to the log's end as it is now: a stop is seen between them
                self.catch_up(until=self.app.recorder.max_notification_id() or 0, deadline=started + ROUND)
            except (*OUTAGES, IntegrityError) as error:  # the position is in the view: try again shortly
                log.warning("projection runner: %s; retrying", error)
            # A round that used its whole time has more to do; any other rests (done, or another writer at work).
            stop.wait(0 if time.monotonic() - started >= ROUND else interval)
