"""The library's own command ceiling on this machine (issue 13's reference for writes): eventsourcing 9.5 alone,
an aggregate per writer, each command `repository.get` + one event + `save` (the library's recorder: `LOCK TABLE ...
IN EXCLUSIVE MODE`, INSERT, COMMIT), `--writers` concurrent writers split over `--processes` processes, on a fresh
PostgreSQL schema; beside pgbench running the same lock + INSERT + COMMIT, and a plain single-row INSERT, at the
same client count. Prints one JSON object.

    python bench/library_ceiling.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--seconds 10]
                                    [--writers 32] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql
from rebuild import DEFAULT_URL, drop_schema, pgbench_tps, without_schema


class Tally(Aggregate):
    """One counter per writer: the smallest command there is."""

    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


def environment(url: str, schema: str, pool: int) -> dict[str, str]:
    parts = urlsplit(url)
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": parts.path.strip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1", "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": parts.username or "postgres", "POSTGRES_PASSWORD": parts.password or "",
            "POSTGRES_SCHEMA": schema, "POSTGRES_POOL_SIZE": str(pool), "CREATE_TABLE": "y",
            "AGGREGATE_CACHE_MAXSIZE": "1000"}


def writers(env: dict[str, str], threads: int, seconds: float, start_at: float, out: Any) -> None:
    """`threads` writers in this process, each on its own aggregate, from `start_at` for `seconds`."""
    app: Application[Any] = Application(env=env)
    ids = []
    for _ in range(threads):
        tally = Tally()
        app.save(tally)
        ids.append(tally.id)
    counts = [0] * threads

    def run(index: int) -> None:
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < start_at + seconds:
            tally: Tally = app.repository.get(ids[index])
            tally.count_one()
            app.save(tally)
            counts[index] += 1

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    app.close()
    out.put(sum(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COUNCIL_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    base = without_schema(args.database_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    per_process = args.writers // args.processes
    env = environment(base, schema, per_process)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    Application(env=env).close()  # creates the schema's tables once, before the writers race for them
    out: Any = multiprocessing.get_context("spawn").Queue()
    start_at = time.time() + 5  # after every process has connected and created its aggregates
    ready = env | {"CREATE_TABLE": "n"}  # the library's DDL races itself across processes
    processes = [multiprocessing.get_context("spawn").Process(target=writers, args=(ready, per_process, args.seconds,
                                                                                      start_at, out))
                 for _ in range(args.processes)]
    try:
        for process in processes:
            process.start()
        commands = sum(out.get(timeout=args.seconds + 120) for _ in processes)
        for process in processes:
            process.join()
    finally:
        drop_schema(base, schema)
    print(json.dumps({
        "benchmark": f"eventsourcing alone: {args.processes} processes x {per_process} writers, get + one event + save",
        "commands": commands, "seconds": args.seconds,
        "commands_per_second": round(commands / args.seconds, 1),
        "pgbench_lock_insert_commit": pgbench_tps(base, clients=args.writers, lock=True),
        "pgbench": pgbench_tps(base, clients=args.writers),
    }))


if __name__ == "__main__":
    main()
