"""Stream ids: uuid5 of natural keys, so any client can address a round, dossier or score."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c2a44-8d0b-5e7a-9c31-2b7d4e5f6a70")


def round_id(round_key: str) -> UUID:
    return uuid5(NAMESPACE, f"round/{round_key}")


def dossier_id(round_key: str, unit: str) -> UUID:
    return uuid5(NAMESPACE, f"dossier/{round_key}/{unit}")


def score_id(round_key: str, unit: str, leaf: str) -> UUID:
    return uuid5(NAMESPACE, f"score/{round_key}/{unit}/{leaf}")


def round_key(year: int, level: str) -> str:
    return f"{year}-{level}"


def principal_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"principal/{name}")


def token_id(token_hash: str) -> UUID:
    return uuid5(NAMESPACE, f"token/{token_hash}")


def blob_id(sha256: str) -> UUID:
    return uuid5(NAMESPACE, f"blob/{sha256}")


def ledger_id() -> UUID:
    """The one stream of signed checkpoints (docs/decisions/0010-ledger.md)."""
    return uuid5(NAMESPACE, "ledger")
