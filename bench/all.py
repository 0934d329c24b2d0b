"""Every figure of issue 13 in one run, each beside the references measured in the same run; prints one JSON
object and rewrites the "Latest run" section of docs/benchmarks.md (between its two markers).

    make bench                     # or: python bench/all.py [--seconds 10] [--events 100000] [--no-write]

It runs, one after another (each prints its own JSON, kept whole under its name):
- bench/http_load.py: gunicorn as shipped on PostgreSQL under wrk: the deadline rush, self-score PUTs, council
  adjustments, results, audit and history reads, worker memory; a bare GET and PUT through the same gunicorn and
  pgbench's single-row INSERT at the same client count;
- bench/library_ceiling.py: eventsourcing alone (get + one event + save) and pgbench with the recorder's table lock;
- bench/verify.py and bench/rebuild.py: a 100,000-event national round, verified (beside a raw read of the rows)
  and rebuilt (beside the library's own projection runner);
- bench/demo.py: `council demo` end to end on SQLite.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/all.py: latest run -->", "<!-- /bench/all.py -->"


def run(script: str, *arguments: str) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *arguments], cwd=ROOT, capture_output=True,
                          text=True, timeout=3600, check=False)
    if done.returncode != 0:
        return {"failed": True, "stderr": done.stderr[-2000:]}
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    found["bench_seconds"] = round(time.perf_counter() - started, 1)
    return found


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's table: figure, measured, reference (same run), ratio, goal, met."""
    http, ceiling = results["http_load"], results["library_ceiling"]
    verify, rebuild = results["verify"], results["rebuild"]
    runs = http.get("runs", {})
    bare, bare_put = runs.get("bare_get", {}), runs.get("bare_put", {})
    rows = []

    def rate(name: str) -> float:
        return float(runs.get(name, {}).get("requests_per_second") or 0)

    def row(figure: str, measured: str, reference: str, ratio: float | None, goal: str, met: bool | None) -> None:
        rows.append({"figure": figure, "measured": measured, "reference": reference,
                     "ratio": None if ratio is None else round(ratio, 3), "goal": goal, "met": met})

    put = runs.get("self_score_put", {})
    inserts = http.get("pgbench", {}).get("single_row_inserts_per_second", 0)
    row("self-score PUT, 32 clients", f"{rate('self_score_put'):,.0f}/s, p99 {put.get('p99_ms')} ms, "
        f"{put.get('non_2xx')} non-2xx", f"bare PUT {rate('bare_put'):,.0f}/s; library alone "
        f"{ceiling.get('commands_per_second', 0):,.0f}/s; pgbench INSERT {inserts:,}/s",
        rate("self_score_put") / rate("bare_put") if bare_put else None, "≥ 1,000/s, p99 ≤ 50 ms, 0 errors",
        rate("self_score_put") >= 1000 and (put.get("p99_ms") or 1e9) <= 50 and put.get("non_2xx") == 0)
    adjust = runs.get("council_adjustment", {})
    row("council adjustment (If-Match), 32 clients", f"{rate('council_adjustment'):,.0f}/s, p99 "
        f"{adjust.get('p99_ms')} ms, {adjust.get('non_2xx')} non-2xx",
        f"library alone {ceiling.get('commands_per_second', 0):,.0f}/s",
        rate("council_adjustment") / ceiling["commands_per_second"] if ceiling.get("commands_per_second") else None,
        "≥ 1,000/s", rate("council_adjustment") >= 1000)
    rush = runs.get("deadline_rush", {})
    row("deadline rush: 63 provinces x 69 leaves, one PUT each", f"{rush.get('seconds')} s "
        f"({rush.get('requests_per_second')}/s; {rush.get('issue_form_5544_seconds')} s at 63 x 88), "
        f"{rush.get('lost')} lost, "
        f"statuses {rush.get('statuses')}", "library alone at the same rate: "
        f"{5544 / ceiling['commands_per_second']:.1f} s for 63 x 88" if ceiling.get("commands_per_second") else "",
        None, "≤ 10 s for 63 x 88, 0 lost",
        (rush.get("issue_form_5544_seconds") or 1e9) <= 10 and rush.get("lost") == 0)
    one = runs.get("history_get_one_client", {})
    bare_one = runs.get("bare_get_one_client", {})
    row("history of a 50-event score, one client", f"p50 {one.get('p50_ms')} ms, p99 {one.get('p99_ms')} ms",
        f"bare GET p50 {bare_one.get('p50_ms')} ms", None, "p50 ≤ 5 ms, p99 ≤ 20 ms",
        (one.get("p50_ms") or 1e9) <= 5 and (one.get("p99_ms") or 1e9) <= 20)
    for name, label in (("results_get", "results read"), ("audit_get", "audit page read (100 rows)"),
                        ("history_get", "history read")):
        found = runs.get(name, {})
        goal = name != "history_get"
        row(f"{label}, 32 clients", f"{rate(name):,.0f}/s, p99 {found.get('p99_ms')} ms",
            f"bare GET {rate('bare_get'):,.0f}/s", rate(name) / rate("bare_get") if bare else None,
            "≥ 1,000/s, p99 ≤ 50 ms" if goal else "",
            (rate(name) >= 1000 and (found.get("p99_ms") or 1e9) <= 50) if goal else None)
    raw = verify.get("raw_read_events_per_second") or 0
    row(f"verify, {verify.get('events', 0):,} events", f"{verify.get('events_per_second', 0):,}/s",
        f"raw read of the rows {raw:,}/s", verify.get("share_of_raw_read"), "≥ 100,000 events/s",
        (verify.get("events_per_second") or 0) >= 100_000)
    library = rebuild.get("library_runner", {})
    row(f"full rebuild, {rebuild.get('events', 0):,} events", f"{rebuild.get('events_per_second', 0):,}/s",
        f"the library's runner {library.get('events_per_second', 0):,}/s", rebuild.get("times_the_library_runner"),
        "≥ 75,000 events/s", (rebuild.get("events_per_second") or 0) >= 75_000)
    memory = http.get("worker_memory", {})
    row("worker memory after the load", f"{memory.get('max_rss_mb')} MB (workers {memory.get('workers_rss_mb')})",
        "", None, "≤ 150 MB", (memory.get("max_rss_mb") or 1e9) <= 150)
    return rows


def markdown(results: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [BEGIN, "", f"Run {results['when']} on {results['machine']} ({results['seconds']} s in all), "
             f"`{results['command']}`.", "",
             "| figure | measured | reference, same run | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for found in rows:
        met = {True: "yes", False: "**no**", None: ""}[found["met"]]
        ratio = "" if found["ratio"] is None else f"{found['ratio']}"
        lines.append(f"| {found['figure']} | {found['measured']} | {found['reference']} | {ratio} | {found['goal']} "
                     f"| {met} |")
    ceiling = results["library_ceiling"]
    plain = ceiling.get("pgbench", {}).get("single_row_inserts_per_second", 0)
    locked = ceiling.get("pgbench_lock_insert_commit", {}).get("single_row_inserts_per_second", 0)
    lines += ["", f"pgbench at 32 clients, same run: single-row INSERT {plain:,} tps; with the recorder's "
              f"`LOCK TABLE ... IN EXCLUSIVE MODE` first, {locked:,} tps. `council demo` on SQLite: "
              f"{results['demo'].get('seconds')} s for {results['demo'].get('events', 0):,} events.", "", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="10", help="each wrk run's length")
    parser.add_argument("--events", default="100000", help="the verify and rebuild round's size")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
                   f"Python {platform.python_version()}",
        "command": " ".join(["python bench/all.py", *sys.argv[1:]]),
        "http_load": run("http_load.py", "--seconds", args.seconds),
        "library_ceiling": run("library_ceiling.py", "--seconds", args.seconds),
        "verify": run("verify.py", "--events", args.events),
        "rebuild": run("rebuild.py", "--events", args.events),
        "demo": run("demo.py"),
    }
    results["seconds"] = round(time.perf_counter() - started)
    failed = [name for name, found in results.items() if isinstance(found, dict) and found.get("failed")]
    rows = [] if failed else figures(results)
    results["figures"] = rows
    print(json.dumps(results))
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
    if not args.no_write:
        text = DOC.read_text(encoding="utf-8")
        section = markdown(results, rows)
        if BEGIN in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n## Latest run (written by bench/all.py)\n\n" + section + "\n"
        DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
