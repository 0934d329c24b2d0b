"""Time `verify` (every stream's hash chain and every signed checkpoint's Merkle root, recomputed from the log) over
a national round of 100,000+ events on PostgreSQL; print JSON beside two references from the same run: a raw read
of the same rows (the physical ceiling of any check that reads the log) and pgbench's single-row insert rate.

    python bench/verify.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--events 100000]
                           [--repeat 3] [--schema NAME --keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid

from rebuild import DEFAULT_URL, Round, drop_schema, pgbench_tps, with_schema, without_schema, writer

from council import bootstrap
from council.cli.demo_round import SimulatedClock
from domain.values import Actor, Role

GOAL = 100_000  # events/s for the chain and ledger check (issue 10 asked 50,000; orjson and a helper process)


def raw_read_rate(parts: bootstrap.Components) -> float:
    """Every stored event read once, page by page, as verify reads it (`scan`: plain tuples), without decoding or
    hashing: what reading the log costs at the least."""
    recorder, start, count = parts.council.recorder, 1, 0
    started = time.perf_counter()
    while page := recorder.scan(start, 5000):  # type: ignore[attr-defined]
        count += len(page)
        start = page[-1][0] + 1
    return count / (time.perf_counter() - started)


def library_read_rate(parts: bootstrap.Components) -> float:
    """The same rows through the library's `select_notifications` (Notification objects from dict rows)."""
    recorder, start, count = parts.council.recorder, 1, 0
    started = time.perf_counter()
    while page := recorder.select_notifications(start=start, limit=5000):
        count += len(page)
        start = page[-1].id + 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COUNCIL_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--events", type=int, default=100_000, help="at least this many events in the log")
    parser.add_argument("--repeat", type=int, default=3, help="verify this many times; the median is the figure")
    parser.add_argument("--schema", help="verify the log already in this schema (of a --keep run) instead")
    parser.add_argument("--keep", action="store_true", help="keep the schema (for --schema runs)")
    args = parser.parse_args()
    base = without_schema(args.database_url)
    schema = args.schema or f"bench_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as scratch:
        # a kept schema keeps its signing key (the events' seals need it): var/bench-<schema>
        tmp = f"var/bench-{schema}" if args.keep or args.schema else scratch
        config = bootstrap.settings({"COUNCIL_DATABASE_URL": with_schema(base, schema), "COUNCIL_DATA_DIR": tmp,
                                     "COUNCIL_EVIDENCE_DIR": f"{tmp}/evidence", "COUNCIL_POOL_SIZE": "2"})
        parts = None
        try:
            clock = SimulatedClock()
            bootstrap.init_db(config)
            if not args.schema:
                council = writer(config, clock)
                Round(council, clock, args.events).play()
                council.close()
            parts = bootstrap.build(config, clock=clock)
            parts.read_models.rebuild()  # the ledger view, filled in one pass (a read would wait for the runner)
            parts.council.sign_checkpoint(Actor(id="bench@moha", role=Role.SECRETARIAT), parts.read_models.leaves())
            timings, report = [], {}
            for _ in range(args.repeat):
                started = time.perf_counter()
                report = parts.council.verify_log()
                timings.append(time.perf_counter() - started)
            assert report["valid"], report
            events = report["events_checked"]
            raw, library = raw_read_rate(parts), library_read_rate(parts)
        finally:
            if parts is not None:
                parts.close()
            if not args.keep:
                drop_schema(base, schema)
    seconds = statistics.median(timings)
    print(json.dumps({
        "benchmark": "verify: every chain and every checkpoint's Merkle root from the log (PostgreSQL)",
        "events": events, "checkpoints": report.get("checkpoints_checked"),
        "seconds": round(seconds, 3), "events_per_second": round(events / seconds),
        "runs": [round(events / taken) for taken in timings],
        "goal_events_per_second": GOAL, "meets_goal": events / seconds >= GOAL,
        "raw_read_events_per_second": round(raw),
        "share_of_raw_read": round(events / seconds / raw, 3),
        "library_read_events_per_second": round(library),
        "schema": schema if args.keep else None,
        "pgbench": pgbench_tps(base),
    }))


if __name__ == "__main__":
    main()
