"""The deadline rush and the morning after, through `council up` as deployed (gunicorn, the projection runner, the
scheduler), on PostgreSQL (issue 13): wrk (a load
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

import psycopg
from psycopg import sql
from rebuild import DEFAULT_URL, drop_schema, pgbench_tps, with_schema, without_schema

from council import bootstrap
from council.infra import unit_lists
from council.services.principal_service import Scope
from council.services.round_service import RoundPlan
from domain.ids import score_id
from domain.values import Actor, Role, ScoreAddress

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor(id="cli:bench", role=Role.ADMIN)
SECRETARIAT = Actor(id="bench.thuky@moha", role=Role.SECRETARIAT)
GOALS = {"self_score_put": {"requests_per_second": 1000, "p99_ms": 50},
         "council_adjustment": {"requests_per_second": 1000},
         "deadline_rush": {"issue_form_5544_seconds": 10},
         "history_get_one_client": {"p50_ms": 5, "p99_ms": 20},
         "results_get": {"requests_per_second": 1000, "p99_ms": 50},
         "audit_get": {"requests_per_second": 1000, "p99_ms": 50}}
RUSH_ISSUE = 63 * 88  # the issue's form (its tree had 88 self-scored leaves); the rush here is 63 x 69
HISTORY_EVENTS = 50


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(config: bootstrap.Settings) -> dict[str, Any]:
    """Three provincial rounds of 63 provinces, an officer per province, a council member over every field and an
    inspector:
    - 2022 (province-876-2022, 69 appraisal leaves): open for self-assessment and empty, for the deadline rush;
    - 2023: every appraisal leaf self-scored, moved on to appraisal, for the council's adjustments (If-Match);
    - 2024 (the published tree): open for self-assessment, with one score of a 50-event history."""
    parts = bootstrap.build(config)
    try:
        council = parts.council
        now = datetime.now(UTC)
        windows = {"self_assessment": {"opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=5)},
                   "explanation": {"opens_at": now + timedelta(days=6), "closes_at": now + timedelta(days=9)}}
        units = unit_lists.load("provinces-2012-2025")
        codes = [unit["code"] for unit in units]
        keys = {}
        for year, tree in ((2022, "province-876-2022"), (2023, "province-876-2022"), (2024, "province-876-2022-v2")):
            council.open_round(RoundPlan(year, tree, units, windows), SECRETARIAT)
            keys[year] = f"{year}-province"
        leaves = {year: [leaf.code for leaf in council.framework(key).leaves("appraisal")]
                  for year, key in keys.items()}
        steps = {year: {leaf.code: str(leaf.step) for leaf in council.framework(key).leaves()}
                 for year, key in keys.items()}  # the same code may have another grid in another tree
        fields = sorted({leaf.field for leaf in council.framework(keys[2023]).leaves("appraisal")})
        officers = {code: council.add_principal(f"bench.{code}", "unit", ADMIN, Scope(unit=code))[1]
                    for code in codes}
        member = council.add_principal("bench.council", "council", ADMIN, Scope(fields=fields, ministry="BNV"))[1]
        inspector = council.add_principal("bench.inspector", "inspector", ADMIN)[1]
        for code in codes:
            council.self_assess(keys[2023], code, [{"leaf": leaf, "points": "0.00"} for leaf in leaves[2023]],
                                Actor(id=f"bench.{code}", role=Role.UNIT, unit=code))
        council.advance_phase(keys[2023], "appraisal", SECRETARIAT, reason="benchmark: the window is cut short")
        versions = {(code, leaf): council.score(ScoreAddress(keys[2023], code, leaf))["version"]
                    for code in codes for leaf in leaves[2023]}
        officer, first = Actor(id="bench.01", role=Role.UNIT, unit="01"), leaves[2024][0]
        for i in range(HISTORY_EVENTS - 1):
            council.self_score(ScoreAddress(keys[2024], "01", first), "0.00" if i % 2 else steps[2024][first], officer)
        return {"keys": keys, "leaves": leaves, "officers": officers, "member": member, "inspector": inspector,
                "versions": versions, "steps": steps}
    finally:
        parts.close()


def lua_puts(key: str, leaves: list[str], officers: dict[str, str], steps: dict[str, str]) -> str:
    """A wrk script cycling over every (province, leaf) self-score PUT with that province's officer's token, so
    concurrent PUTs land on different scores (a PUT on a score another PUT just changed would conflict)."""
    rows = [f'{{"/api/v1/rounds/{key}/units/{unit}/scores/{leaf}/self-assessment","{token}","{steps[leaf]}"}}'
            for leaf in leaves for unit, token in officers.items()]
    return ("local rows = {" + ",".join(rows) + "}\n"
            "local n = 0\n"
            "setup = function(thread) thread:set('offset', math.random(1, #rows)) end\n"
            "request = function()\n"
            "  n = n + 1\n"
            "  local row = rows[((n * 7919 + (offset or 0)) % #rows) + 1]\n"
            "  local body = '{\"points\": \"' .. ((n % 2 == 0) and '0.00' or row[3]) .. '\"}'\n"
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


def lua_bare_put() -> str:
    """The bare reference for writes: a PUT with a small JSON body to an endpoint with no token and no database."""
    return ("wrk.method = 'PUT'\nwrk.path = '/api/v1/keys'\nwrk.body = '{\"points\": \"0.25\"}'\n"
            "wrk.headers['Content-Type'] = 'application/json'\n" + STATUS_COUNT)


def wrk(url: str, script: str, seconds: int, connections: int, threads: int = 2) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s",
                   handle.name, url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
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


def lua_adjust(key: str, versions: dict[tuple[str, str], int], token: str, steps: dict[str, str]) -> str:
    """A wrk script of council adjustments, each under the score's version (If-Match): thread t takes rows t, t+n,
    t+2n...; a second pass over a row (after 4,000+ other adjustments) sends the version the first one made."""
    rows = [f'{{"/api/v1/rounds/{key}/units/{unit}/scores/{leaf}/adjustments",{version},"{steps[leaf]}"}}'
            for (unit, leaf), version in versions.items()]
    return ("local rows = {" + ",".join(rows) + "}\n"
            "local n = 0\n"
            "local threads = 0\n"
            "setup = function(thread) thread:set('tid', threads); threads = threads + 1 end\n"
            "request = function()\n"
            "  local i = n * 2 + (tid or 0)\n"
            "  n = n + 1\n"
            "  local row = rows[(i % #rows) + 1]\n"
            "  local version = row[2] + math.floor(i / #rows)\n"
            "  local body = string.format('{\"points\": \"%s\", \"reason\": \"Hội đồng điều chỉnh\"}',\n"
            "                             (i % 2 == 0) and row[3] or '0.00')\n"
            f"  return wrk.format('POST', row[1], {{['Authorization'] = 'Bearer {token}',\n"
            "                    ['Content-Type'] = 'application/json',\n"
            "                    ['If-Match'] = '\"' .. version .. '\"'}, body)\n"
            "end\n" + STATUS_COUNT)


def rush(url: str, key: str, leaves: list[str], officers: dict[str, str], steps: dict[str, str],
         clients: int) -> dict[str, Any]:
    """The night the window closes: every province self-scores every appraisal leaf, one PUT each, from a client pool
    in its own process (bench/rush.py); then the log is counted: no acknowledged write may be missing."""
    jobs = [["PUT", f"/api/v1/rounds/{key}/units/{unit}/scores/{leaf}/self-assessment", token, {"points": steps[leaf]}]
            for leaf in leaves for unit, token in officers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(jobs, handle)
    try:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "rush.py"), handle.name, "--url", url,
                               "--clients", str(clients)], capture_output=True, text=True, timeout=900, check=True)
    finally:
        os.unlink(handle.name)
    found: dict[str, Any] = json.loads(done.stdout)
    found["issue_form_5544_seconds"] = round(RUSH_ISSUE / found["requests_per_second"], 2)
    return found


def children(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def worker_memory(server: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Resident memory of each gunicorn worker (the children of the gunicorn master `council up` started), from
    /proc."""
    sizes = []
    master = next(child for child in children(server.pid)
                  if b"gunicorn" in Path(f"/proc/{child}/cmdline").read_bytes())
    for child in children(master):
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024, 1))
    return {"workers_rss_mb": sorted(sizes), "max_rss_mb": max(sizes) if sizes else None, "goal_mb": 150}


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
        # `council up`, as deployed: gunicorn, the projection runner that keeps the views current, the scheduler
        server = subprocess.Popen([sys.executable, "-m", "council.cli.main", "up"], cwd=ROOT,
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
            keys, leaves, inspector = seeded["keys"], seeded["leaves"], seeded["inspector"]
            officers, steps, member = seeded["officers"], seeded["steps"], seeded["member"]
            history = f"/api/v1/rounds/{keys[2024]}/units/01/scores/{leaves[2024][0]}/history"
            seconds, clients = args.seconds, args.connections

            def load(script: str, connections: int = clients) -> dict[str, Any]:
                return wrk(url, script, seconds, connections, threads=min(2, connections))

            runs = {"bare_get": load(lua_get("/api/v1/keys", None)), "bare_put": load(lua_bare_put()),
                    "deadline_rush": rush(url, keys[2022], leaves[2022], officers, steps[2022], clients)}
            recorded = count_self_scores(config, keys[2022], list(officers), leaves[2022])
            runs["deadline_rush"] |= {"recorded": recorded,
                                      "lost": runs["deadline_rush"]["statuses"].get("200", 0) - recorded}
            runs |= {
                "self_score_put": load(lua_puts(keys[2024], leaves[2024], officers, steps[2024])),
                "council_adjustment": load(lua_adjust(keys[2023], seeded["versions"], member, steps[2023])),
                "results_get": load(lua_get(f"/api/v1/rounds/{keys[2024]}/results", inspector)),
                "audit_get": load(lua_get(f"/api/v1/audit?round={keys[2024]}&limit=100", inspector)),
                "history_get": load(lua_get(history, inspector)),
                "history_get_one_client": load(lua_get(history, inspector), 1),
                "bare_get_one_client": load(lua_get("/api/v1/keys", None), 1),
            }
            memory = worker_memory(server)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            drop_schema(base, schema)
    bare = runs["bare_get"]["requests_per_second"] or 0
    print(json.dumps({
        "benchmark": f"`council up`: gunicorn ({args.workers} sync workers), the projection runner and the scheduler "
                     f"on PostgreSQL, wrk -t2 -c{clients} -d{seconds}s; "
                     f"the deadline rush from a {clients}-client pool in its own process (bench/rush.py)",
        "runs": runs,
        "ratios_to_bare_get": {name: round((run["requests_per_second"] or 0) / bare, 3) if bare else None
                               for name, run in runs.items() if name != "bare_get"},
        "goals": GOALS,
        "worker_memory": memory,
        "pgbench": pgbench_tps(base, clients=clients),
    }))


def count_self_scores(config: bootstrap.Settings, key: str, units: list[str], leaves: list[str]) -> int:
    """Self-score events of the round's scores in the log, counted in PostgreSQL."""
    ids = [score_id(key, unit, leaf) for unit in units for leaf in leaves]
    schema = config.persistence_env()["POSTGRES_SCHEMA"]
    with psycopg.connect(without_schema(config.database_url)) as conn:
        query = sql.SQL("SELECT count(*) FROM {}.council_events WHERE topic = %s AND originator_id = ANY(%s)")
        row = conn.execute(query.format(sql.Identifier(schema)), ("par:score:self-scored", ids)).fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    main()
