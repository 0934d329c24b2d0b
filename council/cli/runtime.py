"""What every CLI command shares: the components built from the settings `main` parsed, closed after use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from council import bootstrap
from council.infra.clock import Clock, utcnow
from council.infra.settings import Settings


class UsageError(Exception):
    """A command-line value that cannot be used (exit 2, like argparse's own errors)."""


@contextmanager
def components(config: Settings, clock: Clock = utcnow) -> Iterator[bootstrap.Components]:
    parts = bootstrap.build(config, clock=clock)
    try:
        yield parts
    finally:
        parts.close()
