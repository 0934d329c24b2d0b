"""Shared parts of the fault scripts: a backend of their own, gunicorn, principals, retrying clients, the event log
read straight from the database, and the closing JSON report.

The scripts run alone (`.venv/bin/python bench/faults/NAME.py`): this module puts the checkout's root on sys.path so
that tests/e2e/server.py (gunicorn, `council principals add`, the HTTP client) and tests/pgcluster.py (throwaway
PostgreSQL clusters) are importable. Load goes to 127.0.0.1 only; on the machine's shared PostgreSQL server a script
only creates and drops a database of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from tests.e2e.server import Answer, Client, Server, free_port, round_windows  # noqa: E402
from tests.pgcluster import ThrowawayCluster  # noqa: E402

__all__ = ["ROOT", "Answer", "Client", "ThrowawayCluster"]

SHARED_POSTGRES = os.environ.get("COUNCIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FRAMEWORK = "province-876-2022"
PROBLEM = "application/problem+json"
SELF_SCORED = "par:score:self-scored"
ADJUSTED = "par:score:council-adjusted"
ACCESS_LINE = re.compile(r'HTTP/1\.[01]" (\d{3}) ')
REQUEST_TIMEOUT = 20.0  # seconds one HTTP attempt may take before the client gives up on it and retries


def log(message: str) -> None:
    """Progress for the person watching, on stderr; stdout holds only the closing JSON."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stop_on_sigterm() -> None:
    """SIGTERM (and SIGHUP) end the script through its `finally` blocks, so it still cleans up."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)


def parser(description: str) -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    found.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    found.add_argument("--postgres-url", default=SHARED_POSTGRES,
                       help="a server where the user may create databases (a database of the script's own is "
                            "created there and dropped at the end)")
    found.add_argument("--seed", type=int, default=None, help="seed of the random choices (kill targets, points)")
    return found


# The database: a backend of the script's own, and its event log read past the API


@dataclass
class Event:
    position: int
    stream: str
    version: int
    type: str  # the last part of the topic: self-scored, council-adjusted, ...
    request_id: str
    hash: str
    state: dict[str, Any]


class Backend:
    """A temporary folder, and either the default SQLite file in it (COUNCIL_DATA_DIR, no COUNCIL_DATABASE_URL)
    or a fresh database on a PostgreSQL server (the shared one: created here, dropped in `close`)."""

    def __init__(self, kind: str, postgres_url: str = SHARED_POSTGRES, database_url: str | None = None,
                 prefix: str = "par-council-faults-") -> None:
        self.kind = kind
        self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
        self.data_dir = self.tmp / "data"
        self.data_dir.mkdir()
        self._admin_url: str | None = None
        self._database: str | None = None
        self.database_url: str | None = database_url
        if kind == "postgres" and database_url is None:
            self._database = f"par_council_faults_{uuid.uuid4().hex[:10]}"
            self._admin_url = postgres_url
            with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._database)))
            parts = urlsplit(postgres_url)
            self.database_url = urlunsplit(parts._replace(path=f"/{self._database}", query=""))

    @property
    def env(self) -> dict[str, str]:
        """The settings every process of the script gets (anything COUNCIL_* inherited is dropped first)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("COUNCIL_")}
        env = base | {"COUNCIL_DATA_DIR": str(self.data_dir), "COUNCIL_EVIDENCE_DIR": str(self.data_dir / "evidence"),
                      "PYTHONUNBUFFERED": "1"}
        if self.database_url:
            env["COUNCIL_DATABASE_URL"] = self.database_url
        return env

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "council.db"

    def shown(self) -> str:
        return str(self.sqlite_path) if self.kind == "sqlite" else str(self.database_url)

    def events(self, topics: Sequence[str] = ()) -> list[Event]:
        """The events of the log (of these topics), in log order, read with SQL, not through the Council."""
        if self.kind == "sqlite":
            query = "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events"
            if topics:
                query += f" WHERE topic IN ({', '.join('?' * len(topics))})"
            with contextlib.closing(sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)) as db:
                rows = db.execute(query + " ORDER BY rowid", list(topics)).fetchall()
        else:
            assert self.database_url is not None
            query = ("SELECT notification_id, originator_id::text, originator_version, topic, state "
                     "FROM council_events")
            with psycopg.connect(self.database_url, autocommit=True, connect_timeout=10) as db:
                if topics:
                    rows = db.execute(query + " WHERE topic = ANY(%s) ORDER BY notification_id",
                                      [list(topics)]).fetchall()
                else:
                    rows = db.execute(query + " ORDER BY notification_id").fetchall()
        found = []
        for position, stream, version, topic, state in rows:
            data = json.loads(bytes(state))
            found.append(Event(int(position), str(stream).replace("-", ""), int(version), topic.rsplit(":", 1)[-1],
                               str(data.get("request_id", "")), str(data.get("hash", "")), data))
        return found

    def close(self) -> None:
        try:
            if self._database and self._admin_url:
                with psycopg.connect(self._admin_url, autocommit=True, connect_timeout=5) as admin:
                    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self._database)))
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


# gunicorn and its workers


@dataclass
class Gunicorn(Server):
    """tests/e2e/server.py's Server with the backend's whole environment (SQLite's default file included)."""

    settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return dict(self.settings)

    def workers_pids(self) -> list[int]:
        """The master's children, read from /proc (the workers gunicorn forked)."""
        assert self.process is not None
        return children(self.process.pid)


def gunicorn(backend: Backend, workers: int, extra: Mapping[str, str] | None = None) -> Gunicorn:
    """gunicorn with `workers` workers on a free port of 127.0.0.1 (not started: `start(people)` runs
    `council db init`, starts it and registers the principals with `council principals add`)."""
    return Gunicorn(database_url=backend.shown(), workdir=backend.tmp, workers=workers, port=free_port(),
                    settings=backend.env | dict(extra or {}))


def access_statuses(server: Gunicorn) -> dict[int, int]:
    """How many answers of each status gunicorn's access log shows (`"METHOD /path HTTP/1.1" STATUS ...`)."""
    found: dict[int, int] = {}
    for match in ACCESS_LINE.finditer(server.log()):
        status = int(match.group(1))
        found[status] = found.get(status, 0) + 1
    return found


def children(pid: int) -> list[int]:
    """Live children of `pid`, from /proc (no psutil): its main thread's `children` file, else every stat."""
    with contextlib.suppress(OSError):
        return sorted(int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    return sorted(child for child, (parent, state, _) in _processes().items() if parent == pid and state != "Z")


def age(pid: int) -> float:
    """Seconds since `pid` started (0 when it is gone)."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return 0.0
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - int(rest[19]) / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, state, start time in clock ticks since boot)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[-1].split()  # the fields after the command name, from field 3 (state) on
        if len(rest) > 19:
            found[int(entry)] = (int(rest[1]), rest[0], int(rest[19]))
    return found


def sockets(pid: int) -> set[str]:
    """The sockets `pid` holds open (`socket:[inode]`), from /proc/PID/fd."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if (link := os.readlink(f"/proc/{pid}/fd/{fd}")).startswith("socket:"):
                    found.add(link)
    return found


class Busy:
    """Which workers have a request in hand, cheaply enough to catch one at work: a sync worker that serves holds
    one more socket than it holds idle (the client's connection). Sockets the master holds (the listener) and the
    ones a worker held when first seen or has held for a while (its database connections) do not count; a socket
    the worker opened less than `young` seconds ago does."""

    def __init__(self, master: int, young: float = 0.5) -> None:
        self.master, self.young = master, young
        self.seen: dict[int, dict[str, float]] = {}  # worker -> socket -> when first seen

    def __call__(self, workers: Sequence[int]) -> list[int]:
        now, shared, busy = time.monotonic(), sockets(self.master), []
        for pid in workers:
            held = sockets(pid) - shared
            known = self.seen.get(pid)
            if known is None:
                self.seen[pid] = dict.fromkeys(held, float("-inf"))
                continue
            for inode in held:
                known.setdefault(inode, now)
            if any(now - known[inode] < self.young for inode in held):
                busy.append(pid)
        for gone in set(self.seen) - set(workers):
            del self.seen[gone]
        return busy


class Killer(threading.Thread):
    """SIGKILLs a random worker of gunicorn's master every `interval` seconds (±50 %) until `kills` are done or it
    is stopped. The choosing and killing run in a process of their own (`python harness.py kill ...`: in the
    script's process, busy with client threads, looking through /proc is too slow to catch a worker at work),
    which prefers a worker with a request in hand (`Busy`) and else takes any worker that has lived `min_age`
    seconds; each kill comes back as a line of JSON."""

    def __init__(self, server: Gunicorn, kills: int, interval: float, rng: random.Random,
                 min_age: float = 1.0, busy_wait: float = 1.0) -> None:
        super().__init__(name="killer", daemon=True)
        assert server.process is not None
        self.command = [sys.executable, __file__, "kill", str(server.process.pid), str(server.port), str(kills),
                        str(interval), str(rng.random()), str(min_age), str(busy_wait)]
        self.stop = threading.Event()
        self.killed: list[int] = []
        self.busy_kills = 0  # victims that held a client connection when killed
        self.times: list[float] = []
        self.done = threading.Event()
        self.process: subprocess.Popen[str] | None = None
        self.error = ""

    def run(self) -> None:
        try:
            self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            threading.Thread(target=self._watch_stop, daemon=True).start()
            assert self.process.stdout is not None
            for line in self.process.stdout:
                kill = json.loads(line)
                self.killed.append(int(kill["pid"]))
                self.times.append(float(kill["at"]))  # time.monotonic() is the same clock in both processes
                self.busy_kills += bool(kill["busy"])
            self.process.wait()
            if self.process.returncode not in (0, -signal.SIGTERM):
                self.error = (self.process.stderr.read() if self.process.stderr else "")[-2000:]
        finally:
            self.done.set()

    def _watch_stop(self) -> None:
        self.stop.wait()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def close(self) -> None:
        self.stop.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)


def kill_loop(master: int, port: int, kills: int, interval: float, seed: float, min_age: float,
              busy_wait: float) -> None:
    """The killer's process: one JSON line per SIGKILL on stdout."""
    rng = random.Random(seed)
    busy_now = Busy(master)
    for _ in range(kills):
        time.sleep(interval * rng.uniform(0.5, 1.5))
        started = time.monotonic()
        while True:
            workers = children(master)
            if not workers and not Path(f"/proc/{master}").exists():
                return
            chosen = busy_now(workers)
            busy = bool(chosen)
            if not chosen and time.monotonic() > started + busy_wait:
                chosen = [pid for pid in workers if age(pid) >= min_age]
            if chosen:
                break
            time.sleep(0.001)
        victim = rng.choice(chosen)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue
        print(json.dumps({"pid": victim, "busy": busy, "at": time.monotonic()}), flush=True)


# Clients that retry under one Idempotency-Key until they get a definite answer


@dataclass
class Attempt:
    status: int | None  # None: no answer (connection reset, refused, timeout)
    error: str
    seconds: float
    problem_type: str = ""
    retry_after: str = ""
    media_type: str = ""
    at: float = 0.0  # when it was sent (time.monotonic())

    @property
    def ended(self) -> float:
        return self.at + self.seconds


@dataclass
class Write:
    """One logical write: a key, its body, and every attempt until a definite answer (2xx or 4xx)."""

    key: str
    kind: str  # what the write records: self-scored, council-adjusted
    method: str
    path: str
    body: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    answer: Answer | None = None  # the definite answer, None while unresolved

    @property
    def acknowledged(self) -> bool:
        return self.answer is not None and 200 <= self.answer.status < 300

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    @property
    def receipt(self) -> dict[str, Any]:
        assert self.answer is not None
        body = self.answer.json
        return body[0] if isinstance(body, list) else body  # type: ignore[no-any-return]


def definite(answer: Answer) -> bool:
    return answer.status < 500


def attempt(client: Client, method: str, path: str, body: Any, headers: Mapping[str, str],
            timeout: float = REQUEST_TIMEOUT) -> tuple[Answer | None, Attempt]:
    started = time.monotonic()
    try:
        answer = client.request(method, path, body, headers=headers, timeout=timeout)
    except (OSError, http.client.HTTPException) as error:
        return None, Attempt(None, f"{type(error).__name__}: {error}"[:200], time.monotonic() - started, at=started)
    problem = ""
    if answer.media_type == PROBLEM:
        with contextlib.suppress(ValueError, AttributeError):
            problem = str(answer.json.get("type", ""))
    return answer, Attempt(answer.status, "", time.monotonic() - started, problem,
                           answer.headers.get("retry-after", ""), answer.media_type, started)


def send(client: Client, write: Write, give_up_at: float, headers: Mapping[str, str] | None = None,
         request_id: str | None = None) -> Write:
    """The write, again and again with the same key, body and X-Request-ID (the key unless `request_id`), until
    it gets a definite answer or `give_up_at` (monotonic) passes (then `answer` stays None)."""
    sent = {"Idempotency-Key": write.key, "X-Request-ID": request_id or write.key, **(headers or {})}
    pause = 0.05
    while True:
        answer, tried = attempt(client, write.method, write.path, write.body, sent)
        write.attempts.append(tried)
        if answer is not None and definite(answer):
            write.answer = answer
            return write
        if time.monotonic() > give_up_at:
            return write
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def get_until_ok(client: Client, path: str, give_up_at: float) -> Answer:
    """A read, retried through resets and 5xx until it answers 200 (raises after `give_up_at`)."""
    while True:
        answer, tried = attempt(client, "GET", path, None, {})
        if answer is not None and answer.status == 200:
            return answer
        if answer is not None and 400 <= answer.status < 500:
            raise RuntimeError(f"GET {path}: {answer}")
        if time.monotonic() > give_up_at:
            raise RuntimeError(f"GET {path} did not answer 200 in time: {answer or tried.error}")
        time.sleep(0.1)


# A round of the script's own


def windows(self_assessment_closes: datetime) -> dict[str, dict[str, str]]:
    return round_windows(self_assessment_closes)


def units(count: int) -> list[dict[str, Any]]:
    from council.infra import unit_lists

    return [{k: u[k] for k in ("code", "name", "region")} for u in unit_lists.load("provinces-2012-2025")[:count]]


def people(unit_codes: Sequence[str], council_members: int = 0, fields: Sequence[str] = ()) -> dict[str, list[str]]:
    """A secretariat, an officer per unit (officer@CODE), and council members for `fields` (member@N)."""
    found = {"thuky@faults": ["--role", "secretariat"]}
    for code in unit_codes:
        found[f"officer@{code}"] = ["--role", "unit", "--unit", code]
    for number in range(council_members):
        found[f"member@{number}"] = ["--role", "council", "--fields", ",".join(fields), "--ministry", f"M{number}"]
    return found


@dataclass
class Leaf:
    code: str
    field: str
    max_points: str


def appraisal_leaves(client: Client) -> list[Leaf]:
    """The framework's appraisal leaves (the ones units self-score), from GET /frameworks/{id}."""
    answer = client.get(f"/api/v1/frameworks/{FRAMEWORK}")
    if answer.status != 200:
        raise RuntimeError(f"GET /frameworks/{FRAMEWORK}: {answer}")
    found: list[Leaf] = []

    def walk(node: dict[str, Any], field_code: str) -> None:
        if not node.get("children"):
            if node["method"] == "appraisal":
                found.append(Leaf(node["code"], field_code, str(node["max_points"])))
        for child in node.get("children") or ():
            walk(child, field_code)

    for top in answer.json["data"]["fields"]:
        walk(top, top["code"])
    return found


def open_round(secretariat: Client, year: int, unit_list: list[dict[str, Any]], hours: float = 2.0) -> str:
    """POST /rounds with the self-assessment window open for `hours` more; returns the round's key."""
    body = {"year": year, "framework": FRAMEWORK, "units": unit_list,
            "windows": windows(datetime.now(UTC) + timedelta(hours=hours))}
    answer = secretariat.post("/api/v1/rounds", body, timeout=120)
    if answer.status != 201:
        raise RuntimeError(f"POST /rounds ({year}): {answer}")
    return f"{year}-province"


def advance(secretariat: Client, round_key: str, phase: str, reason: str) -> None:
    answer = secretariat.post(f"/api/v1/rounds/{round_key}/phase", {"phase": phase, "reason": reason}, timeout=120)
    if answer.status != 201:
        raise RuntimeError(f"POST /rounds/{round_key}/phase {phase}: {answer}")


# Checking writes against the log


@dataclass
class Verdict:
    """How the writes compare with the events that carry their request ids."""

    writes: int = 0
    acknowledged: int = 0
    retried: int = 0
    attempts: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, but no event carries the key
    duplicates: list[str] = field(default_factory=list)  # more than one event carries the key
    errors_on_retry: list[str] = field(default_factory=list)  # answered 4xx although the write is in the log
    refused: list[str] = field(default_factory=list)  # answered 4xx and not in the log (a valid write refused)
    unresolved: list[str] = field(default_factory=list)  # never got a definite answer in time
    wrong_receipt: list[str] = field(default_factory=list)  # the receipt's event_hash is not the key's event
    strays: int = 0  # events of these kinds whose request id is none of the keys

    def figures(self) -> dict[str, Any]:
        return {"writes": self.writes, "acknowledged": self.acknowledged, "retried_keys": self.retried,
                "attempts": self.attempts, "lost": len(self.lost), "duplicates": len(self.duplicates),
                "errors_on_retry": len(self.errors_on_retry), "refused": len(self.refused),
                "unresolved": len(self.unresolved), "wrong_receipt": len(self.wrong_receipt), "strays": self.strays}


def judge(writes: Sequence[Write], events: Sequence[Event], request_ids: Mapping[str, str] | None = None) -> Verdict:
    """Each write against the events of its kind whose request id is the write's (its key unless mapped)."""
    by_request: dict[str, list[Event]] = {}
    for event in events:
        by_request.setdefault(event.request_id, []).append(event)
    verdict = Verdict(writes=len(writes))
    ours = set()
    for write in writes:
        rid = (request_ids or {}).get(write.key, write.key)
        ours.add(rid)
        found = [e for e in by_request.get(rid, []) if e.type == write.kind]
        verdict.attempts += len(write.attempts)
        verdict.retried += write.retried
        if len(found) > 1:
            verdict.duplicates.append(write.key)
        if write.answer is None:
            verdict.unresolved.append(write.key)
        elif write.acknowledged:
            verdict.acknowledged += 1
            if not found:
                verdict.lost.append(write.key)
            elif write.receipt.get("event_hash") not in {e.hash for e in found}:
                verdict.wrong_receipt.append(write.key)
        elif found:
            verdict.errors_on_retry.append(f"{write.key}: {write.answer.status} "
                                           f"{write.attempts[-1].problem_type or write.answer.media_type}")
        else:
            verdict.refused.append(f"{write.key}: {str(write.answer)[:300]}")
    kinds = {write.kind for write in writes}
    verdict.strays = sum(1 for e in events if e.type in kinds and e.request_id not in ours)
    return verdict


def attempt_figures(writes: Sequence[Write], kills: Sequence[float] = ()) -> dict[str, Any]:
    """What the attempts met: answers by status, failures by kind, the slowest ones (with the kills made while
    each was in flight), and the longest time in which no write was answered 2xx."""
    outcomes: dict[str, int] = {}
    for write in writes:
        for tried in write.attempts:
            name = str(tried.status) if tried.status is not None else tried.error.split(":", 1)[0]
            outcomes[name] = outcomes.get(name, 0) + 1
    slowest = sorted(((tried.seconds, write.key, tried.status or tried.error[:80], tried) for write in writes
                      for tried in write.attempts), key=lambda found: found[0], reverse=True)[:5]
    answered = sorted(tried.ended for write in writes for tried in write.attempts
                      if tried.status is not None and 200 <= tried.status < 300)
    gap = max((later - earlier for earlier, later in itertools.pairwise(answered)), default=0.0)
    return {"attempt_outcomes": dict(sorted(outcomes.items())),
            "longest_time_without_a_2xx_seconds": round(gap, 2),
            "slowest_attempts": [{"seconds": round(sec, 2), "key": key, "outcome": outcome,
                                  **({"kills_meanwhile": sum(tried.at <= at <= tried.ended for at in kills)}
                                     if kills else {})}
                                 for sec, key, outcome, tried in slowest]}


# The closing report


@dataclass
class Report:
    """What a script checked and its figures; `finish` prints one JSON object and gives the exit code."""

    script: str
    backend: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def check(self, name: str, ok: bool, detail: Any = None) -> bool:
        entry: dict[str, Any] = {"check": name, "ok": bool(ok)}
        if detail not in (None, "", [], {}, 0) and (not ok or isinstance(detail, str | int)):
            entry["detail"] = detail  # a passed check keeps a short figure, a failed one everything
        self.checks.append(entry)
        log(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok or detail is None else f": {detail}"))
        return bool(ok)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c["ok"] for c in self.checks)

    def finish(self, error: BaseException | None = None) -> int:
        if error is not None:
            self.checks.append({"check": "the script ran to the end", "ok": False,
                                "detail": f"{type(error).__name__}: {error}"[:2000]})
        result = {"script": self.script, "backend": self.backend, "passed": self.passed,
                  "duration_seconds": round(time.monotonic() - self.started, 1), **self.figures,
                  "checks": self.checks}
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str), flush=True)
        return 0 if self.passed else 1


@contextlib.contextmanager
def cleanup(*closers: Any) -> Iterator[None]:
    """Run every closer (in reverse) at the end, whatever failed; a closer's own failure is only logged."""
    try:
        yield
    finally:
        for close in reversed(closers):
            try:
                close()
            except Exception as error:  # a failed cleanup must not hide the result
                log(f"cleanup: {type(error).__name__}: {error}")


def main(run: Any, report: Report) -> int:
    """Run `run(report)`; any exception is a failed check, printed in the JSON; exit code 0 only if all held."""
    stop_on_sigterm()
    try:
        run(report)
    except (Exception, KeyboardInterrupt, SystemExit) as error:
        log(f"stopped by {type(error).__name__}: {error}")
        return report.finish(error)
    return report.finish()


if __name__ == "__main__" and sys.argv[1:2] == ["kill"]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    master_pid, server_port, kill_count = (int(value) for value in sys.argv[2:5])
    kill_loop(master_pid, server_port, kill_count, *(float(value) for value in sys.argv[5:9]))
