"""The cost of signed receipts and sealed events on the write path: self-score writes through the Flask test client
(SQLite, one process) as served (each event sealed as it is stored, the receipt signed as it is answered), with the
receipt's signature switched off, and with both switched off; plus the signature and the seal alone.
Prints one JSON object. `--writes N` per run, `--runs R` alternating runs of each (the median is reported)."""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from council import bootstrap
from council.infra.keyring import receipt_message
from council.services.principal_service import Scope
from domain.values import Actor, Role

ADMIN = Actor(id="cli:bench", role=Role.ADMIN)
WINDOWS = {"self_assessment": {"opens_at": "2000-01-01T00:00:00+07:00", "closes_at": "2100-01-01T00:00:00+07:00"},
           "explanation": {"opens_at": "2100-01-02T00:00:00+07:00", "closes_at": "2100-02-01T00:00:00+07:00"}}
SCORE = "/api/v1/rounds/2024-province/units/01/scores/{leaf}/self-assessment"
MODES = ("signed", "unsigned", "neither")  # receipt signed and events sealed; seals only; neither
LEAVES = ("1.1.1", "1.1.2", "2.1.1", "2.1.2", "2.1.3")
# The HTTP layer, imported by name: mypy checks domain, council, projections and bench, not the Flask views.
api = importlib.import_module("api")
schemas = importlib.import_module("api.schemas")


def unsigned(self: Any, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return data | {"key_id": None, "signature": None}


def timed_writes(client: Any, headers: dict[str, str], writes: int, start: int) -> float:
    began = time.perf_counter()
    for i in range(start, start + writes):
        answer = client.put(SCORE.format(leaf=LEAVES[i % len(LEAVES)]), headers=headers,
                            json={"points": "0.50" if (i // len(LEAVES)) % 2 else "0.25", "note": ""})
        assert answer.status_code == 200, answer.json
    return writes / (time.perf_counter() - began)


def per_call(action: Callable[[], Any], calls: int = 2000) -> float:
    began = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - began) / calls * 1e6


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--writes", type=int, default=300)
    options.add_argument("--runs", type=int, default=5)
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"COUNCIL_DATA_DIR": tmp}
        bootstrap.init_db(bootstrap.settings(env))
        app = api.create_app({"TESTING": True, "COUNCIL_ENV": env})
        parts = app.extensions["par-council"].get()
        client = app.test_client()
        secretariat = parts.council.add_principal("thuky", "secretariat", ADMIN)[1]
        officer = parts.council.add_principal("officer", "unit", ADMIN, Scope(unit="01"))[1]
        answer = client.post("/api/v1/rounds", headers={"Authorization": f"Bearer {secretariat}"}, json={
            "year": 2024, "framework": "province-876-2022", "windows": WINDOWS,
            "units": [{"code": "01", "name": "Hà Nội"}]})
        assert answer.status_code == 201, answer.json
        headers = {"Authorization": f"Bearer {officer}"}
        signing, mapper = schemas.ReceiptSchema.sign, parts.council.mapper
        timed_writes(client, headers, 50, 0)  # warm up
        rates: dict[str, list[float]] = {mode: [] for mode in MODES}
        done = 50
        for _ in range(args.runs):
            for mode in MODES:
                schemas.ReceiptSchema.sign = signing if mode == "signed" else unsigned
                mapper.keyring = None if mode == "neither" else parts.keyring
                rates[mode].append(timed_writes(client, headers, args.writes, done))
                done += args.writes
        schemas.ReceiptSchema.sign, mapper.keyring = signing, parts.keyring
        receipt: dict[str, Any] = dict(answer.json)
        keyring = parts.keyring
        signed = keyring.sign_receipt(receipt)
        figures = {
            "sign_receipt_us": round(per_call(lambda: keyring.sign_receipt(receipt)), 1),
            "message_only_us": round(per_call(lambda: receipt_message(receipt, str(signed["key_id"]))), 1),
            "check_signature_us": round(per_call(lambda: keyring.check_receipt(receipt | signed)), 1),
            "seal_us": round(per_call(lambda: keyring.seal(receipt["stream"], 2, receipt["event_hash"])), 1),
        }
        app.extensions["par-council"].close()
    signed_rate, unsigned_rate, bare_rate = (statistics.median(rates[m]) for m in MODES)
    print(json.dumps({
        "benchmark": "self-score writes through the Flask test client, SQLite, one process",
        "writes_per_run": args.writes, "runs": args.runs,
        "writes_per_second_signed": round(signed_rate, 1), "writes_per_second_unsigned": round(unsigned_rate, 1),
        "writes_per_second_neither_signed_nor_sealed": round(bare_rate, 1),
        "signing_cost_percent": round((unsigned_rate / signed_rate - 1) * 100, 1),
        "signing_and_sealing_cost_percent": round((bare_rate / signed_rate - 1) * 100, 1),
        "per_write_ms_signed": round(1000 / signed_rate, 3), "per_write_ms_unsigned": round(1000 / unsigned_rate, 3),
        "per_write_ms_neither": round(1000 / bare_rate, 3),
        **{f"runs_{mode}": [round(rate, 1) for rate in rates[mode]] for mode in MODES},
        **figures,
    }))


if __name__ == "__main__":
    main()
