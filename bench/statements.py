"""SQL statements and pool check-outs per request, counted in-process (issue 13): a figure that does not move with
the machine's load, unlike a rate. The app runs on a fresh PostgreSQL schema seeded as bench/http_load.py seeds it;
each request goes through Flask's test client (counting, not timing) with psycopg's `Cursor.execute` and
`executemany` and the pool's `getconn` wrapped to count. Prints one JSON object.

    python bench/statements.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--requests 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg_pool
from http_load import seed
from rebuild import DEFAULT_URL, drop_schema, with_schema, without_schema

from api import create_app
from council import bootstrap

COUNTS: Counter[str] = Counter()
TRACE: list[str] = []  # with --trace: the statements of the last request of that kind


def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        COUNTS[name] += 1
        if name == "statements" and len(args) > 1:
            query = args[1]
            text = query if isinstance(query, str) else query.as_string(None) if hasattr(query, "as_string") else ""
            TRACE.append(" ".join(str(text).split())[:160])
        return method(*args, **kwargs)

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COUNCIL_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--trace", choices=["self_score_put", "history_get", "results_get", "audit_get"],
                        help="print the statements of the last such request to stderr")
    args = parser.parse_args()
    base = without_schema(args.database_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {"COUNCIL_DATABASE_URL": with_schema(base, schema), "COUNCIL_DATA_DIR": tmp,
               "COUNCIL_EVIDENCE_DIR": f"{tmp}/evidence", "COUNCIL_POOL_SIZE": "4"}
        config = bootstrap.settings(env)
        bootstrap.init_db(config)
        seeded = seed(config)
        app = create_app({"COUNCIL_ENV": env})
        try:
            client = app.test_client()
            keys, leaves, steps = seeded["keys"], seeded["leaves"], seeded["steps"]
            officers, inspector = seeded["officers"], seeded["inspector"]
            units = list(officers)

            def put(i: int) -> Any:
                """Ten officers, each already signed in once (as under steady load), on scores not yet touched."""
                unit, leaf = units[i % 10], leaves[2024][1 + i // 10] if i >= 0 else leaves[2024][-1]
                return client.put(f"/api/v1/rounds/{keys[2024]}/units/{unit}/scores/{leaf}/self-assessment",
                                  json={"points": steps[2024][leaf]},
                                  headers={"Authorization": f"Bearer {officers[unit]}"})

            def get(path: str) -> Callable[[int], Any]:
                return lambda _: client.get(path, headers={"Authorization": f"Bearer {inspector}"})

            history = f"/api/v1/rounds/{keys[2024]}/units/01/scores/{leaves[2024][0]}/history"
            requests = {"self_score_put": put, "history_get": get(history),
                        "results_get": get(f"/api/v1/rounds/{keys[2024]}/results"),
                        "audit_get": get(f"/api/v1/audit?round={keys[2024]}&limit=100")}
            for name, send in requests.items():
                for warm in range(-10, 0):  # the first requests of a kind warm the caches (principals, views)
                    send(warm)
                COUNTS.clear()
                for i in range(args.requests):
                    TRACE.clear()
                    answer = send(i)
                    assert answer.status_code < 300, (name, answer.status_code, answer.get_data(as_text=True))
                figures[name] = {what: round(count / args.requests, 2) for what, count in sorted(COUNTS.items())}
                if name == args.trace:
                    print("\n".join(TRACE), file=sys.stderr)
        finally:
            app.extensions["par-council"].close()
            drop_schema(base, schema)
    print(json.dumps({"benchmark": "SQL statements and pool check-outs per request (PostgreSQL, in-process)",
                      "requests_each": args.requests, "per_request": figures}))


psycopg.Cursor.execute = counted("statements", psycopg.Cursor.execute)  # type: ignore[method-assign]
psycopg.Cursor.executemany = counted("statements", psycopg.Cursor.executemany)  # type: ignore[method-assign]
psycopg_pool.ConnectionPool.getconn = counted("checkouts", psycopg_pool.ConnectionPool.getconn)  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
