"""Time `council demo` end to end on a fresh SQLite file and print the figures as JSON."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The data folder too: evidence files stay in the temporary folder, not in the user's data folder.
        env = os.environ | {"COUNCIL_DATABASE_URL": f"sqlite:///{tmp}/demo.db", "COUNCIL_DATA_DIR": tmp}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "council.cli.main", "demo", "--tokens", f"{tmp}/tokens.env"], env=env,
                       check=True, capture_output=True)
        seconds = time.perf_counter() - started
        with sqlite3.connect(f"{tmp}/demo.db") as conn:
            (events,) = conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    print(json.dumps({"benchmark": "council demo (63 provinces, SQLite)", "seconds": round(seconds, 2),
                      "events": events, "events_per_second": round(events / seconds), "goal_seconds": 60}))


if __name__ == "__main__":
    main()
