"""`council db init`, `council serve` and `council demo`: set up, serve, and play the demo round."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from council import bootstrap
from council.cli import text_report
from council.cli.demo_round import SECRETARIAT, YEAR, Demo, SimulatedClock, issue_demo_tokens
from council.cli.runtime import UsageError, components
from council.infra import unit_lists
from council.infra.settings import Settings
from domain.errors import NotFoundError
from domain.values import ScoreAddress

GUNICORN_SETTINGS = "python:council.cli.gunicorn_settings"


def where(config: Settings) -> str:
    """The two places a run keeps its data, absolute, with no password."""
    return f"database {config.shown_url}; evidence files in {config.evidence_dir}"


def db_init(args: argparse.Namespace) -> int:
    bootstrap.init_db(args.settings, runtime_role=args.runtime_role)
    print(f"tables ready: {where(args.settings)}")
    if args.runtime_role:
        print(f"runtime role {args.runtime_role}: INSERT and SELECT on the events (docs/decisions/0009)")
    keyring = bootstrap.open_keyring(args.settings)
    print(f"receipts signed by key {keyring.current_id()} ({keyring.key_file}; `council keys list`)")
    return 0


def serve(args: argparse.Namespace) -> int:
    """Run the API under gunicorn with the installed settings (tables must exist: `council db init`)."""
    print(f"serving {where(args.settings)}", flush=True)
    command = [sys.executable, "-m", "gunicorn", "-c", args.config or GUNICORN_SETTINGS, "api:create_app()"]
    os.execvp(command[0], command)
    return 0  # not reached


def demo(args: argparse.Namespace) -> int:
    """Play the demo round, or show it when this database already holds it (so the command can be rerun)."""
    started, config = time.perf_counter(), args.settings
    units = _units(args.units)
    bootstrap.init_db(config)
    clock = SimulatedClock()
    key = f"{YEAR}-province"
    with components(config, clock=clock) as parts:
        play = Demo(parts.council, clock)
        try:
            parts.council.round(key)
            print(f"round {key} is already in {config.shown_url}; showing it")
        except NotFoundError:
            play.play(units)
        print(text_report.results_table(parts.read_models.results(key), top=args.top))
        disputed = parts.read_models.disputes(key, SECRETARIAT)
        unit, leaf = (disputed[0]["unit"], disputed[0]["leaf"]) if disputed else (units[0]["code"], "1.1.1")
        title = f"\nhistory of {key} / unit {unit} ({_name(units, unit)}) / leaf {leaf}"
        print(text_report.history_text(title, parts.council.history(ScoreAddress(key, unit, leaf))))
    with components(config) as live:  # tokens are issued now, on the real clock
        tokens = issue_demo_tokens(live.council, Path(args.tokens or config.data_dir / "demo-tokens.env"))
    print(f"\ndemo round {key} ready in {time.perf_counter() - started:.1f} s ({where(config)}); "
          f"API tokens of the demo's people in {tokens} (source it for the README's curl examples)")
    return 0


def _units(name: str) -> list[dict[str, Any]]:
    try:
        return unit_lists.load(name)
    except FileNotFoundError:
        raise UsageError(f"--units {name!r} is not a shipped unit list; choose one of: "
                         f"{', '.join(unit_lists.available())}") from None


def _name(units: list[dict[str, Any]], code: str) -> str:
    return next(u["name"] for u in units if u["code"] == code)


def add_commands(commands: Any) -> None:
    db = commands.add_parser("db", help="database set-up").add_subparsers(dest="db_command", required=True)
    init = db.add_parser("init", help="create the tables once (COUNCIL_DATABASE_URL)")
    init.add_argument("--runtime-role", default=os.environ.get("COUNCIL_RUNTIME_ROLE") or None,
                      help="PostgreSQL: also create this role for the server, with least privilege "
                           "(default: COUNCIL_RUNTIME_ROLE; none)")
    init.set_defaults(run=db_init)
    play = commands.add_parser("demo", help="play a whole provincial round and print results and one history")
    play.add_argument("--units", default="provinces-2012-2025", help="shipped unit list")
    play.add_argument("--top", type=int, default=10, help="how many ranks to print")
    play.add_argument("--tokens", help="where to write the demo's API tokens (default: the data folder)")
    play.set_defaults(run=demo)
    server = commands.add_parser("serve", help="run the HTTP API under gunicorn (COUNCIL_BIND, COUNCIL_WORKERS)")
    server.add_argument("--config", help="a gunicorn settings file instead of the installed ones")
    server.set_defaults(run=serve)
