"""The projection and its runner: read the log in pages, fold each page into rows, write rows and tracking
in one transaction. The same loop follows the log live, catches up on a read, and rebuilds."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
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
from psycopg_pool import PoolTimeout

from projections.fold import Fold, Rows
from projections.tables import CouncilView, PostgresCouncilView, SQLiteCouncilView

log = logging.getLogger(__name__)
OUTAGES = (OperationalError, InterfaceError, psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError)
PAGE = 2000


class CouncilProjection(Projection[Any]):
    """Every view of the council from one fold of the log."""

    name = "council"

    def __init__(self, view: CouncilView, load: Callable[[UUID, int | None], Any]) -> None:
        super().__init__(view)
        self.fold = Fold(load)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(tracking.notification_id, domain_event)])

    def process_batch(self, events: Sequence[tuple[int, Any]]) -> None:
        self.view.apply(self.fold_batch(events), Tracking("council", events[-1][0]))

    def fold_batch(self, events: Sequence[tuple[int, Any]]) -> Rows:
        rows = Rows()
        for position, event in events:
            self.fold.apply(position, event, rows)
        return rows.finish()

    def forget(self) -> None:
        """After a failed batch the cached aggregates may be ahead of the view: start them afresh."""
        self.fold.cache.clear()


def open_view(env: dict[str, str], generation: int | None = None) -> CouncilView:
    """A view on the Council's database, at the generation readers use unless told otherwise."""
    factory = InfrastructureFactory.construct(env=_view_env(env))
    cls = SQLiteCouncilView if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite" else PostgresCouncilView
    view: CouncilView = factory.tracking_recorder(cls)  # type: ignore[assignment]
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
    """Applies the log to a view page by page; exactly once because rows and tracking commit together."""

    def __init__(self, app: EventLog, view: CouncilView, page: int = PAGE, follow_active: bool = True) -> None:
        self.app, self.view, self.page, self.follow_active = app, view, page, follow_active
        self.projection = CouncilProjection(view, self._load)
        self.lock = threading.Lock()

    def _load(self, stream: UUID, version: int | None) -> Any:
        return self.app.repository.get(stream, version=version)

    def catch_up(self, until: int | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Apply pages until the log (or `until`) is reached; returns the view's position."""
        with self.lock:
            self.follow()
            position = self.view.position()
            while until is None or position < until:
                events = self._read(position)
                if not events:
                    break
                try:
                    self.projection.process_batch(events)
                except IntegrityError:
                    # Another runner applied (some of) these first: nothing is lost, go on from its position.
                    # A conflict that does not move the position is not a race: let it surface.
                    self.projection.forget()
                    moved = self.view.position()
                    if moved == position:
                        raise
                    position = moved
                    continue
                position = events[-1][0]
                if progress is not None:
                    progress(len(events))
            return position

    def _read(self, position: int) -> list[tuple[int, Any]]:
        """The next page of the log after `position`, decoded: (notification id, domain event) pairs."""
        page = self.app.recorder.select_notifications(start=position + 1, limit=self.page)
        return [(notification.id, self.app.mapper.to_domain_event(notification)) for notification in page]

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Fill a fresh (unread) generation from the whole log: one writer thread commits each page's rows
        and tracking, in order, while the next page is read and folded, so database waits overlap the
        Python work. Nobody else writes these tables, so there are no conflicts to retry."""
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
                position = events[-1][0]
                pages.put((self.projection.fold_batch(events), Tracking("council", position)))
                if progress is not None:
                    progress(len(events))
        finally:
            pages.put(None)
            writer.join()
        if failed:
            raise failed[0]
        return position

    def follow(self) -> None:
        """After a rebuild switched readers to new tables, live runners write there too."""
        if self.follow_active and (active := self.view.active_generation()) != self.view.generation:
            self.view.generation = active
            self.projection.forget()

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Follow the log until `stop` is set; a lost database connection is retried, not fatal."""
        while not stop.is_set():
            try:
                self.catch_up()
            except OUTAGES as error:  # the database went away: the position is in the view, try again shortly
                self.projection.forget()
                log.warning("projection runner: %s; retrying", error)
            stop.wait(interval)
