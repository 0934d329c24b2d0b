"""`council scheduler`: the process that acts on deadlines (issue 11, docs/decisions/0012), on APScheduler 3.x.

Its jobs are derived from the event log (`DeadlineServices.due`), never stored elsewhere: at start, and again every
`poll` seconds (so new rounds, extensions and phase moves reach it), it acts at once on whatever is due (deadlines
that passed while it was down included) and schedules one date job per future due time. Besides those:

- `checkpoint`: every `checkpoint_interval`, after every close and when a round is published, a signed checkpoint,
  if the log grew since the last one;
- `deliver`: each pending reminder POSTed to the webhook (if one is set), retried with exponential backoff, in its
  own thread with a timeout, so a webhook that hangs never delays a close.

Exactly one scheduler acts: the leader holds a PostgreSQL session advisory lock (on its own connection) or, on
SQLite, flock(2) on a lock file beside the database; the others stand by and try again at every poll. The leader's
state (last run, next job) goes to `scheduler.json` in the data folder, which `/api/v1/health` reports."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from council.bootstrap import Components
from council.infra.ddl import pg_connect_kwargs
from council.infra.settings import SchedulerSettings
from council.services.request_scope import new_request_id, request_scope
from domain.values import SYSTEM

log = logging.getLogger("council.scheduler")
STATUS_FILE = "scheduler.json"
MAX_BACKOFF = 300  # seconds between two attempts to deliver one reminder, at most


class Leadership:
    """Who acts: a PostgreSQL session advisory lock on a connection of its own, or flock(2) on SQLite."""

    def __init__(self, parts: Components) -> None:
        self.env = parts.settings.persistence_env(create_table=False)
        self.backend = parts.settings.backend
        self._conn: psycopg.Connection[Any] | None = None
        self._descriptor: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._descriptor is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.backend == "sqlite":
            path = f"{self.env['SQLITE_DBNAME'].removeprefix('file:').split('?', 1)[0]}.scheduler.lock"
            descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                return False
            self._descriptor = descriptor
            return True
        conn = psycopg.connect(**pg_connect_kwargs(self.env))
        key = f"{self.env.get('POSTGRES_SCHEMA') or 'public'}/scheduler"
        row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key]).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """False when the lock's connection broke (the server restarted): the lock is gone with it."""
        if self._conn is None:
            return self._descriptor is not None
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


@dataclass
class Attempts:
    count: int = 0
    next_try: float = 0.0


class DeadlineScheduler:
    """The scheduler's work, callable directly (tests drive it with their clock) or on APScheduler (`start`)."""

    def __init__(self, parts: Components, config: SchedulerSettings, status_dir: Path,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.parts, self.config = parts, config
        self.council = parts.council
        self.status_file = status_dir / STATUS_FILE
        self.leadership = Leadership(parts)
        self.monotonic = monotonic
        self.attempts: dict[tuple[str, str, str], Attempts] = {}
        self.phases: dict[str, str] = {}
        self.acting = threading.Lock()
        self.scheduler: BackgroundScheduler | None = None
        self.last_run: dict[str, Any] | None = None
        self.next_job: dict[str, Any] | None = None
        # Jobs touch the APScheduler only under this lock, and never once `stopping` is set: its shutdown holds
        # APScheduler's own locks while it waits for running jobs.
        self.jobs_lock = threading.Lock()
        self.stopping = False

    # -- the work

    def tick(self) -> dict[str, Any] | None:
        """Act on everything due now, if this scheduler leads; then sign a checkpoint when something closed."""
        if not self._lead():
            return None
        with self.acting, request_scope(new_request_id("scheduler-")):
            done = self.council.act_on_deadlines(self.config.reminder_offsets)
            published = self._newly_published()
            if done["closed"] or published:
                self.checkpoint()
            self.last_run = {"at": self.council.clock().astimezone(UTC).isoformat(), **done,
                             "published": published}
        self._write_status()
        return done

    def refresh(self) -> None:
        """Act on what is due, then put one date job per future due time on the scheduler."""
        self.tick()
        if self.scheduler is None or not self.leadership.held:
            self._write_status()
            return
        now = self.council.clock()
        wanted: dict[str, datetime] = {}
        for item in self.council.due(self.config.reminder_offsets):
            if item.at > now:
                wanted.setdefault(f"due:{item.at.astimezone(UTC).isoformat()}", item.at)
        with self.jobs_lock:
            if self.stopping or self.scheduler is None:
                return
            for job in self.scheduler.get_jobs():
                if job.id.startswith("due:") and job.id not in wanted:
                    job.remove()
            for job_id, at in wanted.items():
                if self.scheduler.get_job(job_id) is None:
                    self.scheduler.add_job(self.tick, DateTrigger(run_date=at), id=job_id, misfire_grace_time=None,
                                           coalesce=True)
            first = min(wanted.items(), key=lambda pair: pair[1], default=None)
            self.next_job = None if first is None else {"id": first[0], "at": first[1].astimezone(UTC).isoformat()}
        self._write_status()

    def checkpoint(self) -> dict[str, Any] | None:
        """A signed checkpoint over the whole log, when it grew since the last one (that checkpoint's own event
        aside); None when nothing new was recorded (or another scheduler leads)."""
        if not self._lead():
            return None
        entries = self.parts.read_models.leaves()
        heads = self.council.checkpoints()
        if not entries or (heads and len(entries) <= heads[-1]["tree_size"] + 1):
            return None
        with request_scope(new_request_id("scheduler-")):
            head, _receipt = self.council.sign_checkpoint(SYSTEM, entries)
        return head

    def deliver(self) -> int:
        """POST every pending reminder to the webhook; a failure is retried later, 1, 2, 4 … MAX_BACKOFF s apart.
        Each reminder is marked delivered once the webhook answered 2xx, so it is never delivered twice."""
        url = self.config.webhook_url
        if url is None or not self._lead():
            return 0
        delivered = 0
        for reminder in self.council.reminders(SYSTEM, pending=True):
            if self.stopping:
                break
            place = (reminder["round"], reminder["unit"], reminder["reminder_id"])
            attempts = self.attempts.setdefault(place, Attempts())
            if self.monotonic() < attempts.next_try:
                continue
            attempts.count += 1
            if self._post(url, reminder):
                with request_scope(new_request_id("scheduler-")):
                    self.council.reminder_delivered(*place, attempts=attempts.count)
                self.attempts.pop(place, None)
                delivered += 1
            else:
                attempts.next_try = self.monotonic() + min(MAX_BACKOFF, 2 ** (attempts.count - 1))
        return delivered

    def _post(self, url: str, reminder: dict[str, Any]) -> bool:
        body = json.dumps(reminder, default=str, ensure_ascii=False).encode()
        key = f"{reminder['round']}/{reminder['unit']}/{reminder['reminder_id']}"
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=self.config.webhook_timeout) as answer:
                return 200 <= answer.status < 300
        except (urllib.error.URLError, OSError, ValueError) as error:
            log.warning("reminder %s: the webhook did not take it: %s", key, error)
            return False

    def _lead(self) -> bool:
        if self.leadership.held and self.leadership.still_held():
            return True
        return self.leadership.try_acquire()

    def _newly_published(self) -> list[str]:
        """Rounds whose phase became `published` since the last look (none on the first look)."""
        first = not self.phases
        found = []
        for key in self.council.round_keys():
            phase = self.council.round(key)["phase"]
            if not first and phase == "published" and self.phases.get(key) != "published":
                found.append(key)
            self.phases[key] = phase
        return found

    # -- the process

    def jobs(self) -> list[dict[str, Any]]:
        """What this scheduler would do and when: every due close and reminder, past ones first."""
        return [{"at": item.at.astimezone(UTC).isoformat(), "job": item.job_id}
                for item in self.council.due(self.config.reminder_offsets)]

    def start(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(4)},
                                        job_defaults={"coalesce": True, "max_instances": 1})
        self.scheduler = scheduler
        scheduler.add_job(self.refresh, IntervalTrigger(seconds=self.config.poll), id="refresh",
                          next_run_time=datetime.now(UTC))
        scheduler.add_job(self.checkpoint, IntervalTrigger(seconds=self.config.checkpoint_interval), id="checkpoint",
                          next_run_time=datetime.now(UTC) + timedelta(seconds=5))  # and one soon after a start
        if self.config.webhook_url:
            scheduler.add_job(self.deliver, IntervalTrigger(seconds=min(self.config.poll, 5)), id="deliver")
        scheduler.start()
        return scheduler

    def stop(self) -> None:
        with self.jobs_lock:
            self.stopping = True
            running, self.scheduler = self.scheduler, None
        if running is not None:  # waits for a job in progress (a webhook call: its timeout at most)
            running.shutdown(wait=True)
        self.leadership.release()
        self._write_status()

    def status(self) -> dict[str, Any]:
        """Whether it leads, what it did last, the next deadline it has a job for (as of its last refresh)."""
        return {"pid": os.getpid(), "host": socket.gethostname(), "leader": self.leadership.held,
                "running": self.scheduler is not None, "last_run": self.last_run, "next_job": self.next_job,
                "poll_seconds": self.config.poll, "updated_at": datetime.now(UTC).isoformat()}

    def _write_status(self) -> None:
        """scheduler.json, written whole and renamed; a standby writes it only while no leader's file is fresh."""
        status = self.status()
        if not status["leader"] and _fresh(self.status_file, self.config.poll * 3):
            return
        temporary = self.status_file.with_name(f".{STATUS_FILE}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            self.status_file.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
            os.replace(temporary, self.status_file)


def _fresh(path: Path, seconds: int) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return bool(data.get("leader")) and time.time() - path.stat().st_mtime < seconds
    except (OSError, ValueError):
        return False


def read_status(data_dir: Path) -> dict[str, Any] | None:
    """What the scheduler last wrote (None when no scheduler ever ran with this data folder)."""
    try:
        return json.loads((data_dir / STATUS_FILE).read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None
