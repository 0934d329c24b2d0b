"""SIGKILL gunicorn workers under write load; every failed write is retried under its Idempotency-Key.

gunicorn with 4 workers (SQLite: the default file in a temporary data folder; PostgreSQL: a fresh database on
the server of --postgres-url, dropped at the end), principals from `council principals add`, two rounds opened
over HTTP. Writer threads PUT self-scores in the first round; adjuster threads POST council adjustments (If-Match
from the last receipt) in the second, moved to appraisal. Every write has a unique Idempotency-Key, sent again
with the same body and `X-Request-ID: <key>` after a reset, a timeout or a 5xx, until a 2xx or 4xx answer.
Meanwhile a killer process SIGKILLs a worker (a child of the master, read from /proc; one holding a client
connection when one shows within a second, else any booted one) --kills times, about every --interval seconds.

Checked against the events in the database (read with SQL, not through the API): every acknowledged write is in
the log with the event its receipt names (0 lost), no key is recorded twice (events per request id), no write that
is in the log was answered 4xx on a retry, every write got a definite answer, the master survived.

    .venv/bin/python bench/faults/worker_kill.py [--backend sqlite|postgres] [--kills 24] [--interval 0.8]
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from typing import Any

import harness
from harness import ADJUSTED, SELF_SCORED, Backend, Client, Report, Write, log


def self_scorer(client: Client, round_key: str, unit: str, leaves: list[harness.Leaf], name: str,
                rng: random.Random, stop: threading.Event, give_up_at: float, writes: list[Write]) -> None:
    """A unit's officer (one of several threads, each with leaves of its own): self-scores the leaves in turn,
    each write under a key of its own."""
    for number in itertools.count():
        if stop.is_set():
            return
        leaf = leaves[number % len(leaves)]
        points = rng.choice(["0.00", leaf.max_points])
        write = Write(f"{name}-{number}", "self-scored", "PUT",
                      f"/api/v1/rounds/{round_key}/units/{unit}/scores/{leaf.code}/self-assessment",
                      {"points": points, "note": f"lần {number}"})
        writes.append(harness.send(client, write, give_up_at))


def adjuster(client: Client, round_key: str, targets: list[tuple[str, harness.Leaf]], name: str,
             rng: random.Random, stop: threading.Event, give_up_at: float, writes: list[Write]) -> None:
    """One council member: adjusts its scores in turn, If-Match from the last receipt (or a fresh read)."""
    versions: dict[str, int] = {}
    for number in itertools.count():
        if stop.is_set():
            return
        unit, leaf = targets[number % len(targets)]
        path = f"/api/v1/rounds/{round_key}/units/{unit}/scores/{leaf.code}"
        if path not in versions:
            versions[path] = int(harness.get_until_ok(client, path, give_up_at).json["version"])
        body = {"points": rng.choice(["0.00", leaf.max_points]), "reason": f"điều chỉnh lần {number}"}
        write = Write(f"{name}-{number}", "council-adjusted", "POST", f"{path}/adjustments", body)
        harness.send(client, write, give_up_at, headers={"If-Match": f'"{versions[path]}"'})
        writes.append(write)
        if write.acknowledged:
            versions[path] = int(write.receipt["version"])
        else:
            versions.pop(path, None)  # refused (a stale version?): read it again


def run(report: Report, args: Any) -> None:
    rng = random.Random(args.seed)
    backend = Backend(args.backend, args.postgres_url)
    server = harness.gunicorn(backend, workers=args.workers)
    with harness.cleanup(backend.close, server.stop):
        # Few principals (each `council principals add` is a Python start): the threads share them, each on leaves
        # of its own, so that no two threads ever write the same score.
        unit_list = harness.units(1)
        codes = [u["code"] for u in unit_list]
        fields = [str(n) for n in range(1, 9)]
        log(f"starting gunicorn ({args.workers} workers) on {args.backend}: {backend.shown()}")
        tokens = server.start(harness.people(codes, 1, fields))
        clients = {name: server.client(token, name) for name, token in tokens.items()}
        secretariat = clients["thuky@faults"]
        leaves = harness.appraisal_leaves(secretariat)
        if sorted({leaf.field for leaf in leaves}) != sorted(fields):
            raise RuntimeError(f"the framework's fields are {sorted({leaf.field for leaf in leaves})}, not 1-8")
        scoring = harness.open_round(secretariat, 2024, unit_list)
        adjusting = harness.open_round(secretariat, 2023, unit_list)
        pairs = [(code, leaf) for code in codes for leaf in leaves[:3 * args.adjusters]]
        for code, leaf in pairs:  # a score exists once its unit has scored it
            path = f"/api/v1/rounds/{adjusting}/units/{code}/scores/{leaf.code}/self-assessment"
            answer = clients[f"officer@{code}"].put(path, {"points": leaf.max_points})
            if answer.status != 200:
                raise RuntimeError(f"PUT {path}: {answer}")
        harness.advance(secretariat, adjusting, "appraisal", "thử lỗi: chuyển sang thẩm định sớm")
        log(f"rounds {scoring} and {adjusting} ready")
        before = max((e.position for e in backend.events()), default=0)

        run_id = uuid.uuid4().hex[:8]
        stop = threading.Event()
        started = time.monotonic()
        give_up_at = started + args.max_seconds + 30
        writes: list[list[Write]] = []
        threads = []
        (code,) = codes
        for number in range(args.writers):
            writes.append([])
            threads.append(threading.Thread(target=self_scorer, daemon=True, args=(
                clients[f"officer@{code}"], scoring, code, leaves[number::args.writers][:10], f"{run_id}-s{number}",
                random.Random(rng.random()), stop, give_up_at, writes[-1])))
        for number in range(args.adjusters):
            writes.append([])
            threads.append(threading.Thread(target=adjuster, daemon=True, args=(
                clients["member@0"], adjusting, pairs[number::args.adjusters], f"{run_id}-a{number}",
                random.Random(rng.random()), stop, give_up_at, writes[-1])))
        killer = harness.Killer(server, args.kills, args.interval, rng)
        log(f"{len(threads)} writers, killing a worker every ~{args.interval} s until {args.kills} kills")
        try:
            for thread in threads:
                thread.start()
            killer.start()
            killer.done.wait(timeout=args.max_seconds)
            killer.close()
            time.sleep(args.settle)  # the last victims' retries land on fresh workers
        finally:
            killer.close()
            stop.set()
            for thread in threads:
                thread.join(timeout=max(give_up_at - time.monotonic(), 0) + 5)
        load_seconds = time.monotonic() - started
        alive = server.process is not None and server.process.poll() is None
        log(f"load done in {load_seconds:.1f} s: {len(killer.killed)} kills "
            f"({killer.busy_kills} with a request in hand); reading the log")

        everything = [w for batch in writes for w in batch]
        events = [e for e in backend.events([SELF_SCORED, ADJUSTED]) if e.position > before]
        verdicts = {kind: harness.judge([w for w in everything if w.kind == kind],
                                        [e for e in events if e.type == kind])
                    for kind in ("self-scored", "council-adjusted")}
        statuses = harness.access_statuses(server)
        no_answer = sum(1 for w in everything for a in w.attempts if a.status is None)
        report.figures.update({
            "kills": len(killer.killed), "kills_with_a_request_in_hand": killer.busy_kills,
            "workers": args.workers, "writer_threads": len(threads),
            "load_seconds": round(load_seconds, 1),
            "writes": sum(v.writes for v in verdicts.values()),
            "retries": sum(v.attempts - v.writes for v in verdicts.values()),
            "retried_keys": sum(v.retried for v in verdicts.values()),
            "duplicates": sum(len(v.duplicates) for v in verdicts.values()),
            "lost": sum(len(v.lost) for v in verdicts.values()),
            "errors_on_retry": sum(len(v.errors_on_retry) for v in verdicts.values()),
            "attempts_without_answer": no_answer,
            "answers_5xx": sum(n for status, n in statuses.items() if status >= 500),
            "statuses_in_access_log": {str(k): v for k, v in sorted(statuses.items())},
            "by_kind": {kind: v.figures() for kind, v in verdicts.items()},
            **harness.attempt_figures(everything, killer.times),
        })
        report.check(f"at least {args.kills} workers SIGKILLed", len(killer.killed) >= args.kills,
                     f"{len(killer.killed)} kills {killer.error}")
        report.check("the gunicorn master still runs", alive)
        for kind, verdict in verdicts.items():
            report.check(f"{kind}: writes were made and acknowledged", verdict.acknowledged > 0,
                         verdict.figures())
            report.check(f"{kind}: every write got a definite answer (2xx or 4xx)", not verdict.unresolved,
                         verdict.unresolved[:5])
            report.check(f"{kind}: 0 acknowledged writes lost", not verdict.lost, verdict.lost[:5])
            report.check(f"{kind}: each receipt names the key's event", not verdict.wrong_receipt,
                         verdict.wrong_receipt[:5])
            report.check(f"{kind}: 0 keys recorded twice", not verdict.duplicates, verdict.duplicates[:5])
            report.check(f"{kind}: 0 recorded writes answered 4xx on a retry", not verdict.errors_on_retry,
                         verdict.errors_on_retry[:5])
            report.check(f"{kind}: no valid write refused", not verdict.refused, verdict.refused[:5])
            report.check(f"{kind}: no event of ours without a key", not verdict.strays, verdict.strays)


def main() -> int:
    parser = harness.parser(__doc__ or "")
    parser.add_argument("--kills", type=int, default=24, help="workers to SIGKILL (at least 20 for the issue)")
    parser.add_argument("--interval", type=float, default=0.8, help="mean seconds between kills")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--writers", type=int, default=6, help="self-scoring threads (leaves of their own)")
    parser.add_argument("--adjusters", type=int, default=2, help="council-adjusting threads")
    parser.add_argument("--max-seconds", type=float, default=45.0, help="bound on the load phase")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds of load after the last kill")
    args = parser.parse_args()
    report = Report("worker_kill", args.backend)
    return harness.main(lambda r: run(r, args), report)


if __name__ == "__main__":
    raise SystemExit(main())
