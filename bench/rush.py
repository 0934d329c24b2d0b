"""A client pool in its own process (issue 13's deadline rush): every request of a job file exactly once, over
`--clients` keep-alive connections, then one JSON line: the wall time, the rate, the status counts and the
latency percentiles. bench/http_load.py writes the job file and runs this script beside the server.

    python bench/rush.py JOBS.json --url http://127.0.0.1:8000 [--clients 32]

JOBS.json is a list of [method, path, token, body].
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs")
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with open(args.jobs, encoding="utf-8") as handle:
        jobs = json.load(handle)
    target = urlsplit(args.url)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock, cursor = threading.Lock(), iter(range(len(jobs)))

    def client() -> None:
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=60)
        mine: list[float] = []
        seen: Counter[int] = Counter()
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            method, path, token, body = jobs[index]
            started = time.perf_counter()
            try:
                conn.request(method, path, body=json.dumps(body), headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                seen[answer.status] += 1
            except OSError:
                seen[0] += 1  # a connection error: counted, and the connection opened again
                conn.close()
                conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=60)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            statuses.update(seen)
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    print(json.dumps({
        "requests": len(jobs), "clients": args.clients, "seconds": round(seconds, 2),
        "requests_per_second": round(len(jobs) / seconds, 1),
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2) if latencies else None,
    }))


if __name__ == "__main__":
    main()
