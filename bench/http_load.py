"""The deadline rush and the morning after, through gunicorn as shipped, on PostgreSQL (issue 13): wrk (a load
generator in its own process) drives self-score PUTs by 63 provinces' officers, results, audit-page and history
reads, each beside references measured in the same run: a bare endpoint through the same gunicorn (GET
/api/v1/keys: no token, no database) and pgbench's single-row INSERT rate at the same client count. Prints one
JSON object.

    apt-get install wrk        # Debian's package; the script says so when it is missing
    python bench/http_load.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--seconds 10]
                              [--connections 32] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rebuild import DEFAULT_URL, drop_schema, pgbench_tps, with_schema, without_schema

from council import bootstrap
from council.infra import unit_lists
from council.services.principal_service import Scope
from council.services.round_service import RoundPlan
from domain.values import Actor, Role, ScoreAddress

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor(id="cli:bench", role=Role.ADMIN)
SECRETARIAT = Actor(id="bench.thuky@moha", role=Role.SECRETARIAT)
GOALS = {"self_score_put": 1000, "results_get": 1000, "audit_get": 1000}
HISTORY_EVENTS = 50


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(config: bootstrap.Settings) -> dict[str, Any]:
    """A 2024 provincial round of 63 provinces open for self-assessment now, an officer per province, an
    inspector, and one score with a 50-event history."""
    parts = bootstrap.build(config)
    try:
        council = parts.council
        now = datetime.now(UTC)
        windows = {"self_assessment": {"opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=5)},
                   "explanation": {"opens_at": now + timedelta(days=6), "closes_at": now + timedelta(days=9)}}
        units = unit_lists.load("provinces-2012-2025")
        council.open_round(RoundPlan(2024, "province-876-2022-v2", units, windows), SECRETARIAT)
        key = "2024-province"
        leaves = [leaf.code for leaf in council.framework(key).leaves("appraisal")]
        officers = {unit["code"]: council.add_principal(f"bench.{unit['code']}", "unit", ADMIN,
                                                        Scope(unit=unit["code"]))[1] for unit in units}
        inspector = council.add_principal("bench.inspector", "inspector", ADMIN)[1]
        officer = Actor(id="bench.01", role=Role.UNIT, unit="01")
        for i in range(HISTORY_EVENTS - 1):
            council.self_score(ScoreAddress(key, "01", leaves[0]), "0.25" if i % 2 else "0.50", officer)
        return {"key": key, "leaves": leaves, "officers": officers, "inspector": inspector}
    finally:
        parts.close()


def lua_puts(key: str, leaves: list[str], officers: dict[str, str]) -> str:
    """A wrk script cycling over every (province, leaf) self-score PUT with that province's officer's token, so
    concurrent PUTs land on different scores (a PUT on a score another PUT just changed would conflict)."""
    rows = [f'{{"/api/v1/rounds/{key}/units/{unit}/scores/{leaf}/self-assessment","{token}"}}'
            for index, leaf in enumerate(leaves) for unit, token in officers.items()]
    return ("local rows = {" + ",".join(rows) + "}\n"
            "local n = 0\n"
            "setup = function(thread) thread:set('offset', math.random(1, #rows)) end\n"
            "request = function()\n"
            "  n = n + 1\n"
            "  local row = rows[((n * 7919 + (offset or 0)) % #rows) + 1]\n"
            "  local body = (n % 2 == 0) and '{\"points\": \"0.25\"}' or '{\"points\": \"0.50\"}'\n"
            "  return wrk.format('PUT', row[1], {['Authorization'] = 'Bearer ' .. row[2],\n"
            "                    ['Content-Type'] = 'application/json'}, body)\n"
            "end\n" + STATUS_COUNT)


STATUS_COUNT = ("local bad = 0\n"
                "response = function(status, headers, body) if status >= 300 then bad = bad + 1 end end\n"
                "done = function(summary, latency, requests)\n"
                "  io.write(string.format('NON2XX %d\\n', summary.errors.status))\n"
                "end\n")


def lua_get(path: str, token: str | None) -> str:
    header = f"wrk.headers['Authorization'] = 'Bearer {token}'\n" if token else ""
    return f"wrk.method = 'GET'\nwrk.path = '{path}'\n{header}" + STATUS_COUNT


def wrk(url: str, script: str, seconds: int, connections: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s",
                               handle.name, url], capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        os.unlink(handle.name)
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    found = {"requests_per_second": round(float(rate.group(1)), 1) if rate else None,
             "non_2xx": int(m.group(1)) if (m := re.search(r"NON2XX (\d+)", out)) else None,
             "socket_errors": bool(re.search(r"Socket errors", out))}
    for label, name in (("50%", "p50_ms"), ("99%", "p99_ms")):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            found[name] = round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("COUNCIL_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (Debian's package)")
    base = without_schema(args.database_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"COUNCIL_DATABASE_URL": with_schema(base, schema), "COUNCIL_DATA_DIR": tmp,
               "COUNCIL_EVIDENCE_DIR": f"{tmp}/evidence", "COUNCIL_POOL_SIZE": "4"}
        config = bootstrap.settings(env)
        bootstrap.init_db(config)
        seeded = seed(config)
        server = subprocess.Popen([sys.executable, "-m", "council.cli.main", "serve"], cwd=ROOT,
                                  env=os.environ | env | {"COUNCIL_BIND": f"127.0.0.1:{port}",
                                                          "COUNCIL_WORKERS": str(args.workers)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    time.sleep(0.1)
            key, inspector = seeded["key"], seeded["inspector"]
            history = f"/api/v1/rounds/{key}/units/01/scores/{seeded['leaves'][0]}/history"
            runs = {
                "bare_get": wrk(url, lua_get("/api/v1/keys", None), args.seconds, args.connections),
                "self_score_put": wrk(url, lua_puts(key, seeded["leaves"], seeded["officers"]), args.seconds,
                                      args.connections),
                "results_get": wrk(url, lua_get(f"/api/v1/rounds/{key}/results", inspector), args.seconds,
                                   args.connections),
                "audit_get": wrk(url, lua_get(f"/api/v1/audit?round={key}&limit=100", inspector), args.seconds,
                                 args.connections),
                "history_get": wrk(url, lua_get(history, inspector), args.seconds, args.connections),
            }
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            drop_schema(base, schema)
    bare = runs["bare_get"]["requests_per_second"] or 0
    print(json.dumps({
        "benchmark": f"gunicorn ({args.workers} sync workers) on PostgreSQL, wrk -t2 -c{args.connections} "
                     f"-d{args.seconds}s",
        "runs": runs,
        "ratios_to_bare_get": {name: round((run["requests_per_second"] or 0) / bare, 3) if bare else None
                               for name, run in runs.items() if name != "bare_get"},
        "goals_requests_per_second": GOALS,
        "pgbench": pgbench_tps(base, clients=args.connections),
    }))


if __name__ == "__main__":
    main()
