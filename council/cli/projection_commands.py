"""`council projections run | rebuild | status`: keep the views up to date, rebuild them, show their lag."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from typing import Any

from tqdm import tqdm

from council.cli.runtime import components

VIEWS = ("council", "scores", "results", "audit", "disputes")


def run(args: argparse.Namespace) -> int:
    """Follow the log until SIGTERM or SIGINT; a stop finishes the round at hand, then exits. It writes the views
    while it holds their lease; while a worker holds it (catching up for a read), it waits for its next round."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with components(args.settings) as parts:
        runner = parts.read_models.runner
        print(f"following the log into the views (generation {runner.view.generation}); SIGTERM stops")
        runner.run(stop, interval=args.interval)
        print(f"stopped at position {runner.view.position()}")
    return 0


def rebuild(args: argparse.Namespace) -> int:
    """Every view comes from one fold of the log, so any NAME rebuilds them all, into fresh tables. One rebuild
    at a time (another is refused, exit 1); one that was killed is started again from the first event."""
    with components(args.settings) as parts:
        total = parts.council.recorder.max_notification_id() or 0
        with tqdm(total=total, unit="event", desc=f"rebuilding {args.name}") as bar:
            generation = parts.read_models.rebuild(progress=bar.update)
    print(f"views rebuilt into generation {generation}; readers switched over")
    return 0


def status(args: argparse.Namespace) -> int:
    with components(args.settings) as parts:
        print(json.dumps(parts.read_models.status()))
    return 0


def add_commands(commands: Any) -> None:
    views = commands.add_parser("projections", help="the read models: follow the log, rebuild, status")
    actions = views.add_subparsers(dest="projection_command", required=True)
    follow = actions.add_parser("run", help="keep the views up to date (long-running; SIGTERM stops cleanly)")
    follow.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
    follow.set_defaults(run=run)
    again = actions.add_parser("rebuild", help="rebuild the views into fresh tables, then switch readers over "
                                               "(one rebuild at a time)")
    again.add_argument("name", nargs="?", default="council", choices=VIEWS)
    again.set_defaults(run=rebuild)
    actions.add_parser("status", help="each view's position and lag, as JSON").set_defaults(run=status)
