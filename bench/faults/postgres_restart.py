"""PostgreSQL stopped and started again under write load, on a throwaway cluster of the script's own.

A throwaway cluster (tests/pgcluster.py: initdb and pg_ctl in a temporary folder, never the machine's shared
server), gunicorn with 2 workers on it (connect timeout 2 s, pool 2), principals from `council principals add`, a
round opened over HTTP. Writer threads PUT self-scores, each under an Idempotency-Key of its own sent again with
the same body and `X-Request-ID: <key>` after a reset, a timeout or a 5xx; a reader thread asks /health and the
round. After --before seconds the cluster is stopped (pg_ctl stop -m fast), kept down --down seconds, started
again; the load goes on until the first write after the restart succeeds and --after seconds more; --cycles
times (each stop catches the writes in hand at that instant).

Checked: while the database is down every answer (given from a second after the stop on) is 503
application/problem+json with a Retry-After in seconds, none takes longer than --hang seconds; no answer at any
time is a 500 (nor any 5xx but 503); after the restart the same gunicorn master serves writes again within
--recovery seconds; then against the events in the database (SQL): every acknowledged write is in the log with
the event its receipt names, no key recorded twice, no recorded write answered 4xx on a retry.

    .venv/bin/python bench/faults/postgres_restart.py [--cycles 3] [--down 6] [--before 3] [--after 3]
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Any

import harness
from harness import SELF_SCORED, Attempt, Backend, Client, Report, ThrowawayCluster, Write, log


def writer(client: Client, path_of: Any, name: str, stop: threading.Event, give_up_at: float,
           writes: list[Write]) -> None:
    for number in itertools.count():
        if stop.is_set():
            return
        points = "0.00" if number % 2 else "0.25"
        write = Write(f"{name}-{number}", "self-scored", "PUT", path_of(number), {"points": points,
                                                                                 "note": f"lần {number}"})
        writes.append(harness.send(client, write, give_up_at))


def reader(client: Client, paths: list[str], stop: threading.Event, seen: list[tuple[str, Attempt]]) -> None:
    for number in itertools.count():
        if stop.is_set():
            return
        path = paths[number % len(paths)]
        _, tried = harness.attempt(client, "GET", path, None, {})
        seen.append((path, tried))
        time.sleep(0.05)


def run(report: Report, args: Any) -> None:
    cluster = ThrowawayCluster()
    backend: Backend | None = None
    server: harness.Gunicorn | None = None

    def close_server() -> None:
        if server is not None:
            server.stop()

    def close_backend() -> None:
        if backend is not None:
            backend.close()

    with harness.cleanup(close_backend, cluster.cleanup, close_server):
        log("starting a throwaway PostgreSQL cluster (initdb, pg_ctl)")
        cluster.start()
        backend = Backend("postgres", database_url=cluster.url("council"))
        cluster.council_env(str(backend.data_dir / "evidence"))  # creates the database `council`
        server = harness.gunicorn(backend, workers=args.workers,
                                  extra={"COUNCIL_CONNECT_TIMEOUT": "2", "COUNCIL_POOL_SIZE": "2"})
        unit_list = harness.units(1)
        code = unit_list[0]["code"]
        log(f"starting gunicorn ({args.workers} workers) on {cluster.url('council')}")
        tokens = server.start(harness.people([code]))
        assert server.process is not None
        master = server.process.pid
        workers_before = set(server.workers_pids())
        officer = server.client(tokens[f"officer@{code}"], f"officer@{code}")
        secretariat = server.client(tokens["thuky@faults"], "thuky@faults")
        leaves = harness.appraisal_leaves(secretariat)
        round_key = harness.open_round(secretariat, 2024, unit_list)
        base = f"/api/v1/rounds/{round_key}/units/{code}/scores"

        run_id = uuid.uuid4().hex[:8]
        stop = threading.Event()
        started = time.monotonic()
        give_up_at = started + args.before + args.cycles * (args.down + args.recovery + args.after) + 60
        writes: list[list[Write]] = []
        reads: list[tuple[str, Attempt]] = []
        threads = []
        for number in range(args.writers):
            mine = [leaf.code for leaf in leaves[number::args.writers][:10]]
            writes.append([])
            threads.append(threading.Thread(target=writer, daemon=True, args=(
                officer, lambda n, mine=mine: f"{base}/{mine[n % len(mine)]}/self-assessment", f"{run_id}-w{number}",
                stop, give_up_at, writes[-1])))
        threads.append(threading.Thread(target=reader, daemon=True, args=(
            secretariat, ["/api/v1/health", f"/api/v1/rounds/{round_key}"], stop, reads)))
        cycles: list[dict[str, Any]] = []
        try:
            for thread in threads:
                thread.start()
            time.sleep(args.before)
            for number in range(args.cycles):
                cycle: dict[str, Any] = {}
                cycles.append(cycle)
                log(f"outage {number + 1}: stopping the cluster (pg_ctl stop -m fast)")
                cycle["stop_sent"] = time.monotonic()
                cluster.stop()
                cycle["down"] = time.monotonic()
                time.sleep(args.down)
                log(f"outage {number + 1}: starting the cluster again")
                cycle["start_sent"] = time.monotonic()
                cluster.start()
                cycle["up"] = time.monotonic()
                cycle["recovered"] = None
                while time.monotonic() < cycle["up"] + args.recovery:
                    done = [a for batch in writes for w in list(batch) for a in list(w.attempts)
                            if a.status is not None and 200 <= a.status < 300 and a.at >= cycle["up"]]
                    if done:
                        cycle["recovered"] = min(a.ended for a in done)
                        break
                    time.sleep(0.1)
                time.sleep(args.after)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=max(give_up_at - time.monotonic(), 0) + 5)
        load_seconds = time.monotonic() - started
        master_alive = server.process.poll() is None and server.process.pid == master
        workers_after = set(server.workers_pids())

        everything = [w for batch in writes for w in batch]
        attempts = [(w.path, a) for w in everything for a in w.attempts] + reads
        # Answered while down: a second after the stop completed (what was in hand at the stop may still have
        # committed and answered 2xx) and before the start was sent, whenever it was sent (queued ones included).
        while_down = [(p, a) for p, a in attempts
                      if any(c["down"] + 1 <= a.ended <= c["start_sent"] for c in cycles)]
        not_503 = [f"{p}: {a.status or a.error} {a.media_type} {a.problem_type}"
                   for p, a in while_down if a.status != 503]
        bad_503 = [f"{p}: media type {a.media_type!r}, Retry-After {a.retry_after!r}" for p, a in while_down
                   if a.status == 503 and (a.media_type != harness.PROBLEM or not a.retry_after.isdigit())]
        slow = [f"{p}: {a.seconds:.1f} s" for p, a in attempts
                if a.seconds > args.hang and any(a.at >= c["stop_sent"] - args.hang for c in cycles)]
        five_hundreds = [f"{p}: {a.status} {a.problem_type}" for p, a in attempts
                         if a.status is not None and a.status >= 500 and a.status != 503]
        log_statuses = harness.access_statuses(server)
        events = backend.events([SELF_SCORED])
        verdict = harness.judge(everything, events)
        recoveries = [None if c["recovered"] is None else round(c["recovered"] - c["up"], 2) for c in cycles]

        report.figures.update({
            "workers": args.workers, "writer_threads": args.writers, "load_seconds": round(load_seconds, 1),
            "outages": len(cycles), "down_seconds": [round(c["start_sent"] - c["down"], 1) for c in cycles],
            "stop_took_seconds": [round(c["down"] - c["stop_sent"], 1) for c in cycles],
            "start_took_seconds": [round(c["up"] - c["start_sent"], 1) for c in cycles],
            "answers_while_down": len(while_down),
            "answers_while_down_by_status": _count(str(a.status or a.error.split(":")[0]) for _, a in while_down),
            "slowest_answer_while_down_seconds": round(max((a.seconds for _, a in while_down), default=0), 2),
            "retry_after_values": _count(a.retry_after for _, a in while_down if a.status == 503),
            "recovery_seconds": recoveries,
            "reads": len(reads), "writes": verdict.writes, "acknowledged": verdict.acknowledged,
            "retries": verdict.attempts - verdict.writes, "retried_keys": verdict.retried,
            "duplicates": len(verdict.duplicates), "lost": len(verdict.lost),
            "errors_on_retry": len(verdict.errors_on_retry), "refused": len(verdict.refused),
            "unresolved": len(verdict.unresolved), "answers_5xx_not_503": len(five_hundreds),
            "statuses_in_access_log": {str(k): v for k, v in sorted(log_statuses.items())},
            "workers_replaced": len(workers_before - workers_after),
            **harness.attempt_figures(everything),
        })
        report.check("answers were sampled while the database was down", len(while_down) >= 3,
                     f"{len(while_down)} answers")
        report.check("every answer while down is a 503", not not_503, not_503[:5])
        report.check("every 503 is problem+json with Retry-After in seconds", not bad_503, bad_503[:5])
        report.check(f"no answer took longer than {args.hang} s around the outage", not slow, slow[:5])
        report.check("no 5xx but 503, ever (client side)", not five_hundreds, five_hundreds[:5])
        report.check("no 5xx but 503 in gunicorn's access log",
                     not any(s >= 500 and s != 503 for s in log_statuses), log_statuses)
        report.check(f"the same gunicorn serves writes again within {args.recovery} s of each restart",
                     len(cycles) == args.cycles and None not in recoveries and master_alive,
                     f"recovery {recoveries} s, master alive {master_alive}")
        report.check("every write got a definite answer", not verdict.unresolved, verdict.unresolved[:5])
        report.check("0 acknowledged writes lost", not verdict.lost, verdict.lost[:5])
        report.check("each receipt names the key's event", not verdict.wrong_receipt, verdict.wrong_receipt[:5])
        report.check("0 keys recorded twice", not verdict.duplicates, verdict.duplicates[:5])
        report.check("0 recorded writes answered 4xx on a retry", not verdict.errors_on_retry,
                     verdict.errors_on_retry[:5])
        report.check("no valid write refused", not verdict.refused, verdict.refused[:5])
        report.check("no self-scored event without a key", not verdict.strays, verdict.strays)


def _count(values: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        found[value] = found.get(value, 0) + 1
    return found


def main() -> int:
    parser = harness.parser(__doc__ or "")
    parser.set_defaults(backend="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--writers", type=int, default=4, help="self-scoring threads (leaves of their own)")
    parser.add_argument("--before", type=float, default=3.0, help="seconds of load before the stop")
    parser.add_argument("--cycles", type=int, default=3, help="outages, one after the other")
    parser.add_argument("--down", type=float, default=6.0, help="seconds the cluster stays down each time")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load after the recovery")
    parser.add_argument("--hang", type=float, default=10.0, help="longest answer allowed around the outage")
    parser.add_argument("--recovery", type=float, default=30.0, help="seconds the server may take to serve again")
    args = parser.parse_args()
    if args.backend != "postgres":
        parser.error("postgres_restart runs on PostgreSQL only (a throwaway cluster of its own)")
    return harness.main(lambda r: run(r, args), Report("postgres_restart", "postgres"))


if __name__ == "__main__":
    raise SystemExit(main())
