"""`council scheduler [--list | --once]`: act on deadlines (issue 11); `council up`: the server, the projection
runner and the scheduler side by side, stopped together by one Ctrl-C (what `make run` runs)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from council.cli.runtime import components
from council.scheduler import DeadlineScheduler


def scheduler(args: argparse.Namespace) -> int:
    """Until SIGTERM or SIGINT: lead (or stand by for) the deadlines of every round; `--list` prints what is due
    and when, `--once` acts once on what is due now (and delivers pending reminders) and exits."""
    config = args.settings
    with components(config) as parts:
        work = DeadlineScheduler(parts, config.scheduler, config.data_dir)
        if args.list:
            for job in work.jobs():
                print(json.dumps(job, ensure_ascii=False))
            return 0
        if args.once:
            done = work.tick()
            delivered = work.deliver()
            signed = work.checkpoint()
            work.stop()
            print(json.dumps({"leader": done is not None, "done": done, "delivered": delivered,
                              "checkpoint": None if signed is None else signed["tree_size"]}, default=str))
            return 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        work.start()
        print(f"scheduler started (pid {os.getpid()}): polls the log every {config.scheduler.poll} s, signs a "
              f"checkpoint every {config.scheduler.checkpoint_interval} s; SIGTERM stops", flush=True)
        try:
            stop.wait()
        finally:
            work.stop()
        print("scheduler stopped", flush=True)
    return 0


PROCESSES = {"server": ["serve"], "projections": ["projections", "run"], "scheduler": ["scheduler"]}


def up(args: argparse.Namespace) -> int:
    """Start the three processes; the first Ctrl-C (or SIGTERM) stops all three, each by SIGTERM, and waits."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    children = {name: subprocess.Popen([sys.executable, "-m", "council.cli.main", *argv],
                                       start_new_session=True)  # our Ctrl-C reaches them through us, once
                for name, argv in PROCESSES.items()}
    print("running: " + ", ".join(f"{name} (pid {child.pid})" for name, child in children.items())
          + "; Ctrl-C stops all three", flush=True)
    failed = None
    while not stop.is_set():
        for name, child in children.items():
            if child.poll() is not None:
                failed = name
                stop.set()
        stop.wait(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if failed is not None:
        print(f"{failed} exited with {children[failed].returncode}; stopped the others", file=sys.stderr)
        return 1
    print("stopped: server, projections, scheduler", flush=True)
    return 0


def add_commands(commands: Any) -> None:
    run = commands.add_parser("scheduler", help="act on deadlines: close windows, accept silence, remind, sign "
                                                "checkpoints (long-running; SIGTERM stops cleanly)")
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("--list", action="store_true", help="print every due close and reminder, then exit")
    shown.add_argument("--once", action="store_true", help="act once on what is due now, then exit")
    run.set_defaults(run=scheduler)
    commands.add_parser("up", help="the server, the projection runner and the scheduler together (Ctrl-C stops "
                                   "all three)").set_defaults(run=up)
