"""Same-key races: two identical requests with one Idempotency-Key sent at the same instant, --pairs times.

gunicorn with 4 workers (sync workers serve one request each, so twins that overlap run in two processes) on
SQLite (the default file in a temporary data folder) or on a fresh database of the PostgreSQL server. For each
pair two threads meet at a barrier and PUT the same self-score with the same key and body; they send the
request ids KEY.a and KEY.b, so the log tells which twin's execution was recorded.

Checked against the events in the database (read with SQL): exactly one self-scored event per key (the events
carrying KEY.a or KEY.b), exactly --pairs new self-scored events in all, both twins answered 2xx with the same
JSON body, and that body names the recorded event (its event_hash and request id).

    .venv/bin/python bench/faults/same_key_race.py [--backend sqlite|postgres] [--pairs 100]
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import Any

import harness
from harness import SELF_SCORED, Answer, Backend, Client, Report, log


def twins(client: Client, path: str, body: dict[str, Any], key: str
          ) -> tuple[Answer | None, Answer | None, str, bool]:
    """The same PUT from two threads released together by a barrier; (answer a, answer b, error, whether the two
    were in flight at once: then two sync workers served them)."""
    barrier = threading.Barrier(2)
    answers: dict[str, Answer | None] = {"a": None, "b": None}
    errors: list[str] = []
    spans: dict[str, tuple[float, float]] = {}

    def one(twin: str) -> None:
        barrier.wait(timeout=30)
        sent = time.monotonic()
        answer, tried = harness.attempt(client, "PUT", path, body,
                                        {"Idempotency-Key": key, "X-Request-ID": f"{key}.{twin}"})
        answers[twin] = answer
        spans[twin] = (sent, time.monotonic())
        if answer is None:
            errors.append(f"{twin}: {tried.error}")

    threads = [threading.Thread(target=one, args=(twin,), daemon=True) for twin in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=harness.REQUEST_TIMEOUT + 30)
    overlapped = len(spans) == 2 and max(s for s, _ in spans.values()) < min(e for _, e in spans.values())
    return answers["a"], answers["b"], "; ".join(errors), overlapped


def run(report: Report, args: Any) -> None:
    rng = random.Random(args.seed)
    backend = Backend(args.backend, args.postgres_url)
    server = harness.gunicorn(backend, workers=args.workers)
    with harness.cleanup(backend.close, server.stop):
        unit_list = harness.units(1)
        code = unit_list[0]["code"]
        log(f"starting gunicorn ({args.workers} workers) on {args.backend}: {backend.shown()}")
        tokens = server.start(harness.people([code]))
        officer = server.client(tokens[f"officer@{code}"], f"officer@{code}")
        secretariat = server.client(tokens["thuky@faults"], "thuky@faults")
        leaves = harness.appraisal_leaves(secretariat)
        round_key = harness.open_round(secretariat, 2024, unit_list)
        before = max((e.position for e in backend.events()), default=0)
        run_id = uuid.uuid4().hex[:8]
        log(f"{args.pairs} same-key pairs on round {round_key}")

        pairs = []
        started = time.monotonic()
        for number in range(args.pairs):
            leaf = leaves[number % len(leaves)]
            key = f"{run_id}-race-{number}"
            body = {"points": rng.choice(["0.00", leaf.max_points]), "note": f"cặp {number}"}
            path = f"/api/v1/rounds/{round_key}/units/{code}/scores/{leaf.code}/self-assessment"
            pairs.append((key, *twins(officer, path, body, key)))
        race_seconds = time.monotonic() - started

        events = [e for e in backend.events([SELF_SCORED]) if e.position > before]
        by_request: dict[str, list[harness.Event]] = {}
        for event in events:
            by_request.setdefault(event.request_id, []).append(event)
        recorded_twice, not_recorded, failed, different, wrong_receipt = [], [], [], [], []
        statuses: dict[str, int] = {}
        replayed = one_replayed = winners_b = 0
        for key, a, b, error, _ in pairs:
            found = by_request.get(f"{key}.a", []) + by_request.get(f"{key}.b", [])
            if len(found) > 1:
                recorded_twice.append(key)
            elif not found:
                not_recorded.append(key)
            if a is None or b is None:
                failed.append(f"{key}: {error}")
                continue
            pair_statuses = "/".join(sorted((str(a.status), str(b.status))))
            statuses[pair_statuses] = statuses.get(pair_statuses, 0) + 1
            if not (200 <= a.status < 300 and 200 <= b.status < 300):
                failed.append(f"{key}: {a} | {b}"[:600])
            if a.status != b.status or _json(a) != _json(b):
                different.append(f"{key}: {a} | {b}"[:600])
            replays = sum(answer.headers.get("idempotent-replayed") == "true" for answer in (a, b))
            replayed += replays
            one_replayed += replays == 1
            if len(found) == 1 and 200 <= a.status < 300:
                receipt = _json(a) or {}
                if (receipt.get("event_hash"), receipt.get("request_id")) != (found[0].hash, found[0].request_id):
                    wrong_receipt.append(key)
                winners_b += found[0].request_id.endswith(".b")

        report.figures.update({
            "pairs": args.pairs, "pairs_in_flight_together": sum(pair[4] for pair in pairs),
            "workers": args.workers, "race_seconds": round(race_seconds, 1),
            "new_self_scored_events": len(events), "keys_recorded_twice": len(recorded_twice),
            "keys_not_recorded": len(not_recorded), "pairs_with_different_answers": len(different),
            "pairs_not_both_2xx": len(failed), "answers_replayed": replayed,
            "recorded_executions_by_twin": {"a": args.pairs - len(not_recorded) - len(recorded_twice) - winners_b,
                                            "b": winners_b},
            "pair_statuses": statuses, "statuses_in_access_log": {
                str(k): v for k, v in sorted(harness.access_statuses(server).items())},
        })
        report.check("exactly one self-scored event per key", not recorded_twice and not not_recorded,
                     {"recorded_twice": recorded_twice[:5], "not_recorded": not_recorded[:5]})
        report.check(f"exactly {args.pairs} new self-scored events in the log", len(events) == args.pairs,
                     f"{len(events)} events")
        report.check("both twins answered 2xx", not failed, failed[:5])
        report.check("both twins got the same answer (status and JSON body)", not different, different[:5])
        report.check("the answer names the recorded event (event_hash, request_id)", not wrong_receipt,
                      wrong_receipt[:5])
        report.check("exactly one answer of each pair says Idempotent-Replayed", one_replayed == args.pairs,
                     f"{one_replayed} of {args.pairs} pairs")


def _json(answer: Answer) -> Any:
    try:
        return answer.json
    except ValueError:
        return None


def main() -> int:
    parser = harness.parser(__doc__ or "")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    return harness.main(lambda r: run(r, args), Report("same_key_race", args.backend))


if __name__ == "__main__":
    raise SystemExit(main())
