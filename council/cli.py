"""The `council` command: database set-up, the demo round, principals and their tokens."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from council import bootstrap, projection_cli, report
from council import units as unit_lists
from council.app import Council
from council.config import ConfigError
from council.demo import YEAR, Demo, SimulatedClock, issue_demo_tokens
from domain.errors import DomainError, NotFoundError
from domain.values import Actor, Role


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
    council.close()
    live = bootstrap.build()  # tokens are issued now, on the real clock
    tokens = issue_demo_tokens(live, Path(args.tokens))
    live.close()
    print(f"\ndemo round {key} ready in {time.perf_counter() - started:.1f} s; "
          f"API tokens of the demo's people in {tokens} (source it for the README's curl examples)")
    return 0


def serve(args: argparse.Namespace) -> int:
    """Run the API under gunicorn with the project's settings (tables must exist: `council db init`)."""
    command = [sys.executable, "-m", "gunicorn", "-c", args.config, "wsgi:app"]
    os.execvp(command[0], command)
    return 0  # not reached


def principals_add(args: argparse.Namespace) -> int:
    fields = tuple(f.strip() for f in args.fields.split(",") if f.strip()) if args.fields else ()
    principal, token = _run(lambda council: council.add_principal(
        args.name, args.role, _operator(), unit=args.unit, fields=fields, ministry=args.ministry))
    print(f"principal {principal['name']} registered as {principal['role']}{_scope(principal)}")
    print(f"token: {token}")
    print("this token is shown only this time; only its hash is kept, so store it now")
    return 0


def principals_list(_: argparse.Namespace) -> int:
    rows = _run(lambda council: council.principals())
    for p in rows:
        status = f"revoked ({p['revoked_reason']})" if p["revoked"] else "active"
        print(f"{p['name']:<24} {p['role']:<12} {_scope(p).strip():<28} {status}")
    print(f"{len(rows)} principal(s)")
    return 0


def principals_revoke(args: argparse.Namespace) -> int:
    receipt = _run(lambda council: council.revoke_principal(args.name, args.reason, _operator()))
    print(f"principal {args.name} revoked; its token no longer works (event {receipt.event_hash[:12]})")
    return 0


def _run(use: Callable[[Council], Any]) -> Any:
    council = bootstrap.build()
    try:
        return use(council)
    finally:
        council.close()


def _operator() -> Actor:
    """Whoever runs the command on the server acts as an administrator."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    return Actor(id=f"cli:{user}", role=Role.ADMIN)


def _scope(principal: dict[str, Any]) -> str:
    if principal["unit"]:
        return f" for unit {principal['unit']}"
    if principal["fields"]:
        return f" for fields {','.join(principal['fields'])} (home ministry {principal['ministry']})"
    return ""


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
    play.add_argument("--tokens", default="var/demo-tokens.env", help="where to write the demo's API tokens")
    play.set_defaults(run=demo)
    server = commands.add_parser("serve", help="run the HTTP API under gunicorn (COUNCIL_BIND, COUNCIL_WORKERS)")
    server.add_argument("--config", default="gunicorn.conf.py", help="gunicorn settings file")
    server.set_defaults(run=serve)
    _principal_commands(commands)
    projection_cli.add_commands(commands)
    return root


def _principal_commands(commands: Any) -> None:
    people = commands.add_parser("principals", help="who may call the API, and their tokens")
    actions = people.add_subparsers(dest="principals_command", required=True)
    add = actions.add_parser("add", help="register a principal and print its token once")
    add.add_argument("name", help="login name, without spaces")
    add.add_argument("--role", required=True, choices=[r.value for r in Role if r is not Role.SYSTEM])
    add.add_argument("--unit", help="unit code a unit officer acts for")
    add.add_argument("--fields", help="council fields, comma-separated (e.g. 1,3)")
    add.add_argument("--ministry", help="a council member's home ministry (e.g. MOJ)")
    add.set_defaults(run=principals_add)
    actions.add_parser("list", help="list principals, revoked ones included").set_defaults(run=principals_list)
    revoke = actions.add_parser("revoke", help="revoke a principal; its token stops working")
    revoke.add_argument("name")
    revoke.add_argument("--reason", required=True)
    revoke.set_defaults(run=principals_revoke)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (DomainError, ConfigError) as error:
        print(f"council: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
