"""`council principals add | list | revoke`: who may call the API, and their tokens."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from council.cli.runtime import components
from council.services.principal_service import Scope
from domain.values import Actor, Role


def add(args: argparse.Namespace) -> int:
    fields = tuple(f.strip() for f in args.fields.split(",") if f.strip()) if args.fields else ()
    scope = Scope(unit=args.unit, fields=fields, ministry=args.ministry)
    with components(args.settings) as parts:
        principal, token = parts.council.add_principal(args.name, args.role, operator(), scope)
    print(f"principal {principal['name']} registered as {principal['role']}{_scope(principal)}")
    print(f"token: {token}")
    print("this token is shown only this time; only its hash is kept, so store it now")
    return 0


def list_all(args: argparse.Namespace) -> int:
    with components(args.settings) as parts:
        rows = parts.council.principals()
    for p in rows:
        status = f"revoked ({p['revoked_reason']})" if p["revoked"] else "active"
        print(f"{p['name']:<24} {p['role']:<12} {_scope(p).strip():<28} {status}")
    print(f"{len(rows)} principal(s)")
    return 0


def revoke(args: argparse.Namespace) -> int:
    with components(args.settings) as parts:
        receipt = parts.council.revoke_principal(args.name, args.reason, operator())
    print(f"principal {args.name} revoked; its token no longer works (event {receipt.event_hash[:12]})")
    return 0


def operator() -> Actor:
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


def add_commands(commands: Any) -> None:
    people = commands.add_parser("principals", help="who may call the API, and their tokens")
    actions = people.add_subparsers(dest="principals_command", required=True)
    new = actions.add_parser("add", help="register a principal and print its token once")
    new.add_argument("name", help="login name, without spaces")
    new.add_argument("--role", required=True, choices=[r.value for r in Role if r is not Role.SYSTEM])
    new.add_argument("--unit", help="unit code a unit officer acts for")
    new.add_argument("--fields", help="council fields, comma-separated (e.g. 1,3)")
    new.add_argument("--ministry", help="a council member's home ministry (e.g. MOJ)")
    new.set_defaults(run=add)
    actions.add_parser("list", help="list principals, revoked ones included").set_defaults(run=list_all)
    gone = actions.add_parser("revoke", help="revoke a principal; its token stops working")
    gone.add_argument("name")
    gone.add_argument("--reason", required=True)
    gone.set_defaults(run=revoke)
