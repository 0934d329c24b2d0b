"""The projection and its runner: read the log in pages, fold each page into rows, write rows and tracking
in one transaction. The same loop follows the log live, catches up on a read, and rebuilds."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    OperationalError,
    Tracking,
)
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteDatastore
from psycopg_pool import PoolTimeout

from projections.fold import Fold, Rows
from projections.tables import CouncilView, PostgresCouncilView, SQLiteCouncilView

log = logging.getLogger(__name__)
OUTAGES = (OperationalError, InterfaceError, psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError)
PAGE = 2000
ROUND = 1.0  # seconds `run` writes before it looks at its stop signal again
TRACKING_TABLE = "notification_tracking"  # PostgreSQL: the library's name for an unnamed environment


class CouncilProjection(Projection[Any]):
    """Every view of the council from one fold of the log."""

    name = "council"

    def __init__(self, view: CouncilView, load: Callable[[UUID, int | None], Any]) -> None:
        super().__init__(view)
        self.fold = Fold(load)

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
        self.projection = CouncilProjection(view, self._load)
        self.lock = threading.Lock()

    def _load(self, stream: UUID, version: int | None) -> Any:
        return self.app.repository.get(stream, version=version)

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
        """Fill a fresh (unread) generation from the whole log: one writer thread commits each page's rows
        and tracking, in order, while the next page is read and folded, so database waits overlap the
        Python work. The caller holds the generation's lease, so there are no conflicts to retry."""
        pages: queue.Queue[tuple[Rows, Tracking] | None] = queue.Queue(maxsize=2)
        failed: list[BaseException] = []

        def write() -> None:
            while (item := pages.get()) is not None:
                if not failed:
                    try:
                        self.view.apply(*item)
                    except BaseException as error:  # not swallowed: the reading thread re-raises it
                        failed.append(error)

        writer = threading.Thread(target=write, name="view-writer")
        writer.start()
        position = self.view.position()
        try:
            while not failed:
                events = self._read(position)
                if not events:
                    break
                rows = self.projection.fold_batch(events, position)
                position = events[-1][0]
                pages.put((rows, Tracking("council", position)))
                if progress is not None:
                    progress(len(events))
        finally:
            pages.put(None)
            writer.join()
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
