"""The `council` command: database set-up, the demo round."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from council import bootstrap, report
from council import units as unit_lists
from council.config import ConfigError
from council.demo import YEAR, Demo, SimulatedClock
from domain.errors import DomainError, NotFoundError


def db_init(_: argparse.Namespace) -> int:
    print(f"event tables ready at {bootstrap.init_db()}")
    return 0


def demo(args: argparse.Namespace) -> int:
    """Play the demo round, or show it when this database already holds it (so the command can be rerun)."""
    started = time.perf_counter()
    bootstrap.init_db()
    clock = SimulatedClock()
    council = bootstrap.build(clock=clock)
    play, units = Demo(council, clock), unit_lists.load(args.units)
    key = f"{YEAR}-province"
    try:
        council.round(key)
        print(f"round {key} is already in {bootstrap.settings().database_url}; showing it")
    except NotFoundError:
        play.play(units)
    print(report.results_table(council.results(key), top=args.top))
    unit, leaf = play.disputes(key, units)[0]
    title = f"\nhistory of {key} / unit {unit} ({_name(units, unit)}) / leaf {leaf}"
    print(report.history_text(title, council.history(key, unit, leaf)))
    print(f"\ndemo round {key} ready in {time.perf_counter() - started:.1f} s")
    return 0


def _name(units: list[dict[str, Any]], code: str) -> str:
    return next(u["name"] for u in units if u["code"] == code)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="council", description="par-council: PAR INDEX appraisal backend")
    commands = root.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database set-up").add_subparsers(dest="db_command", required=True)
    db.add_parser("init", help="create the event tables once (COUNCIL_DATABASE_URL)").set_defaults(run=db_init)
    play = commands.add_parser("demo", help="play a whole provincial round and print results and one history")
    play.add_argument("--units", default="provinces-2012-2025", help="shipped unit list")
    play.add_argument("--top", type=int, default=10, help="how many ranks to print")
    play.set_defaults(run=demo)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (DomainError, ConfigError) as error:
        print(f"council: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
