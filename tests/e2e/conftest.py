"""End-to-end fixtures: a throwaway PostgreSQL cluster of the test's own (never the shared server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pgcluster import ThrowawayCluster


@pytest.fixture
def cluster() -> Iterator[ThrowawayCluster]:
    cluster = ThrowawayCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()
