"""`council projections run | rebuild | status`: keep the views up to date, rebuild them, show their lag."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from typing import Any

from tqdm import tqdm

from council import bootstrap

VIEWS = ("council", "scores", "results", "audit", "disputes")


def run(args: argparse.Namespace) -> int:
    """Follow the log until SIGTERM or SIGINT; a stop finishes the page at hand, then exits."""
    council = bootstrap.build()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"following the log into the views (generation {council.runner.view.generation}); SIGTERM stops")
    council.runner.run(stop, interval=args.interval)
    print(f"stopped at position {council.runner.view.position()}")
    council.close()
    return 0


def rebuild(args: argparse.Namespace) -> int:
    """Every view comes from one fold of the log, so any NAME rebuilds them all, into fresh tables."""
    council = bootstrap.build()
    total = council.recorder.max_notification_id() or 0
    with tqdm(total=total, unit="event", desc=f"rebuilding {args.name}") as bar:
        generation = council.rebuild_views(progress=bar.update)
    print(f"views rebuilt into generation {generation}; readers switched over")
    council.close()
    return 0


def status(_: argparse.Namespace) -> int:
    council = bootstrap.build()
    print(json.dumps(council.view_status()))
    council.close()
    return 0


def add_commands(commands: Any) -> None:
    views = commands.add_parser("projections", help="the read models: follow the log, rebuild, status")
    actions = views.add_subparsers(dest="projection_command", required=True)
    follow = actions.add_parser("run", help="keep the views up to date (long-running; SIGTERM stops cleanly)")
    follow.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
    follow.set_defaults(run=run)
    again = actions.add_parser("rebuild", help="rebuild the views into fresh tables, then switch readers over")
    again.add_argument("name", nargs="?", default="council", choices=VIEWS)
    again.set_defaults(run=rebuild)
    actions.add_parser("status", help="each view's position and lag, as JSON").set_defaults(run=status)
