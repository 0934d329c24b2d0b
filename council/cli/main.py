"""The `council` command: parse, run one command inside a request scope, turn every failure into one line
and a documented exit code (a traceback only with --debug)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from typing import NoReturn

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout

from council import bootstrap
from council.cli import (
    archive_commands,
    checkpoint_commands,
    principal_commands,
    projection_commands,
    receipt_commands,
    round_commands,
    scheduler_commands,
    setup_commands,
    verify_commands,
)
from council.cli.runtime import UsageError
from council.infra.ddl import TablesMissingError
from council.infra.settings import ConfigError
from council.services.request_scope import new_request_id, request_scope
from domain.errors import DomainError

OK, REFUSED, USAGE, DATABASE, CONFIG = 0, 1, 2, 3, 4
OUTAGES = (OperationalError, InterfaceError, psycopg.OperationalError, PoolTimeout, sqlite3.OperationalError)
FAILURES: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int, str]] = [
    (DomainError, REFUSED, ""),
    (UsageError, USAGE, "see `council --help`"),
    (TablesMissingError, DATABASE, ""),
    (OUTAGES, DATABASE, "check that the database runs and COUNCIL_DATABASE_URL points at it"),
    (ConfigError, CONFIG, "fix the setting in the environment"),
]
KNOWN = (DomainError, UsageError, TablesMissingError, *OUTAGES, ConfigError)


class Parser(argparse.ArgumentParser):
    """argparse, ending a usage error in one line (its default prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"council: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    root = Parser(prog="council", description="par-council: PAR INDEX appraisal backend")
    root.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (setup_commands, principal_commands, projection_commands, receipt_commands, checkpoint_commands,
                   archive_commands, verify_commands, scheduler_commands, round_commands):
        module.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.settings = bootstrap.settings()
        with request_scope(new_request_id("cli-")):
            return int(args.run(args))
    except KNOWN as error:
        code, hint = _failure(error)
        if args.debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"council: {message}" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return code


def _failure(error: BaseException) -> tuple[int, str]:
    return next((code, hint) for kinds, code, hint in FAILURES if isinstance(error, kinds))


if __name__ == "__main__":
    sys.exit(main())
