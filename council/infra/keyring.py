"""The signing keys (Ed25519): the current private key in a PEM file of mode 0600 (or in COUNCIL_SIGNING_KEY), never
in the database; every public key the council ever signed with, current and retired, in `public-keys.json` beside
the key file, so a receipt signed before a rotation still verifies. Also the one definition of the bytes a receipt's
signature covers (`receipt_message`, docs/decisions/0008).

Each event is also sealed when it is stored: an HMAC-SHA256 over its stream, version and hash under a secret derived
from the signing key (`seal_message`, docs/decisions/0011). Seals are checked by the server (verify, authentication,
before a checkpoint is signed), so an event INSERTed by someone who can write to the database but does not hold the
key is named, even when its hash was computed correctly. The secrets of retired keys stay in `seal-keys.json`
(mode 0600) beside the key file."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from council.infra.settings import ConfigError

ALGORITHM = "Ed25519"
REGISTRY = "public-keys.json"
SEAL_REGISTRY = "seal-keys.json"
SEAL_PURPOSE = "par-council seal v1"
RECEIPT_PURPOSE = "par-council receipt v1"
# The receipt fields a signature covers, besides `purpose` and `key_id` (the signature itself is not covered).
RECEIPT_FIELDS = ("stream", "version", "type", "event_hash", "recorded_at", "notification_id", "request_id")


class KeyringError(ConfigError):
    """A key that cannot be created, read or rotated; the message says which file and what to do (the CLI: exit 4)."""


def key_id(public_raw: bytes) -> str:
    """The first 16 hex characters of sha256 over the raw 32-byte public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def rfc3339(moment: datetime | str) -> str:
    """An instant as RFC 3339 in UTC with microseconds and `Z`: 2025-01-10T02:00:01.000000Z."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("recorded_at needs a time zone offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def receipt_message(receipt: Mapping[str, Any], key: str) -> bytes:
    """The bytes a receipt's Ed25519 signature covers: UTF-8 JSON, sorted keys, no spaces, non-ASCII kept, of the
    receipt's fields (stream as a lower-case UUID, version and notification_id as integers, recorded_at in RFC 3339
    UTC) plus `key_id` and `purpose` (so no other signed document of the council can pass for a receipt)."""
    try:
        document: dict[str, Any] = {
            "purpose": RECEIPT_PURPOSE, "key_id": key,
            "stream": str(UUID(str(receipt["stream"]))), "version": int(receipt["version"]),
            "type": str(receipt["type"]), "event_hash": str(receipt["event_hash"]),
            "recorded_at": rfc3339(receipt["recorded_at"]), "notification_id": int(receipt["notification_id"]),
            "request_id": str(receipt["request_id"]),
        }
    except KeyError as missing:
        raise ValueError(f"the receipt lacks {missing.args[0]}") from None
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal_message(stream: UUID | str, version: int, event_hash: str) -> bytes:
    """The bytes an event's seal covers: the purpose, the stream (a lower-case UUID with hyphens), the version and
    the event's hash, one per line. The hash already covers the event's type, time, payload and link to the one
    before. (A `stream` given as a str must already be in that form: verify passes it so, once per event.)"""
    text = stream if isinstance(stream, str) and len(stream) == 36 and stream.islower() else str(UUID(str(stream)))
    return f"{SEAL_PURPOSE}\n{text}\n{int(version)}\n{event_hash}".encode()


def seal_secret(private: Ed25519PrivateKey) -> bytes:
    """The HMAC secret of a signing key: HKDF-SHA256 of its raw private bytes (no salt, info = the purpose)."""
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_PURPOSE.encode()).derive(raw)


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    public_key: bytes  # raw, 32 bytes
    valid_from: datetime | None
    valid_until: datetime | None = None  # None: the current key

    def as_json(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "algorithm": ALGORITHM,
                "public_key": base64.b64encode(self.public_key).decode("ascii"),
                "valid_from": None if self.valid_from is None else rfc3339(self.valid_from),
                "valid_until": None if self.valid_until is None else rfc3339(self.valid_until)}

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> PublicKey:
        def moment(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))

        raw = base64.b64decode(row["public_key"], validate=True)
        if key_id(raw) != row["key_id"]:
            raise KeyringError(f"{REGISTRY}: key {row['key_id']} does not match its public key")
        return cls(row["key_id"], raw, moment(row["valid_from"]), moment(row.get("valid_until")))


class Keyring:
    """The current signing key (None until `council keys init` or `council db init` made one) and every public key.

    Built once per process by the composition root. The registry file is looked at again (one stat) before
    signing and when a key id is unknown, so a rotation by `council keys rotate` reaches running servers."""

    def __init__(self, key_file: Path, pem: str | None = None) -> None:
        self.key_file = key_file
        self.registry = key_file.parent / REGISTRY
        self.seal_registry = key_file.parent / SEAL_REGISTRY
        self._pem = pem  # COUNCIL_SIGNING_KEY: the key itself, from the environment
        self._stamp: tuple[int, int] | None = None
        self._private: Ed25519PrivateKey | None = None
        self._current: str | None = None
        self._keys: dict[str, PublicKey] = {}
        self._secrets: dict[str, bytes] = {}  # key id -> seal secret, the current and the retired ones
        self.refresh(force=True)

    # -- reading

    @property
    def current(self) -> PublicKey | None:
        self.refresh()
        return None if self._current is None else self._keys[self._current]

    def keys(self) -> list[PublicKey]:
        """Every public key, the current first, then the retired ones newest first."""
        self.refresh()
        return sorted(self._keys.values(), key=lambda k: (k.valid_until is not None,
                                                          -(k.valid_until or k.valid_from or _EPOCH).timestamp()))

    def public_key(self, kid: str) -> PublicKey | None:
        if kid not in self._keys:
            self.refresh(force=True)
        return self._keys.get(kid)

    def refresh(self, force: bool = False) -> None:
        """Read the key and the registry again when the registry changed (or when forced)."""
        stamp = _stamp(self.registry)
        if not force and stamp == self._stamp:
            return
        private = self._load_private()
        keys = _read_registry(self.registry)
        secrets = _read_secrets(self.seal_registry)
        current = None
        if private is not None:
            raw = _raw(private.public_key())
            current = key_id(raw)
            if current not in keys:  # a key from the environment that `keys init` has not registered yet
                keys[current] = PublicKey(current, raw, None)
            secrets[current] = seal_secret(private)
        self._private, self._current, self._keys, self._secrets = private, current, keys, secrets
        self._stamp = stamp

    def _load_private(self) -> Ed25519PrivateKey | None:
        if self._pem:
            return _parse_pem(self._pem.encode(), "COUNCIL_SIGNING_KEY")
        try:
            data = self.key_file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise KeyringError(f"cannot read the signing key {self.key_file}: {error.strerror}") from None
        return _parse_pem(data, str(self.key_file))

    # -- signing and checking

    def sign(self, message: bytes) -> tuple[str, str] | None:
        """(key id, base64 signature) by the current key; None while there is no key (`council keys init`)."""
        self.refresh()
        kid, private = self._current, self._private  # one snapshot: a rotation may swap them meanwhile
        if private is None or kid is None:
            return None
        return kid, base64.b64encode(private.sign(message)).decode("ascii")

    def check(self, kid: str, message: bytes, signature: str) -> str | None:
        """None when `signature` is a valid signature of `message` by the key `kid`; otherwise what is wrong."""
        found = self.public_key(kid)
        if found is None:
            return f"key {kid} is not one of the council's keys (GET /api/v1/keys)"
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return "the signature is not base64"
        try:
            _verifier(found.public_key).verify(raw, message)
        except InvalidSignature:
            return f"the signature does not match the receipt's fields under key {kid}"
        return None

    def sign_receipt(self, receipt: Mapping[str, Any]) -> dict[str, str | None]:
        """The `key_id` and `signature` of a receipt (both None while there is no key)."""
        self.refresh()
        kid, private = self._current, self._private
        if private is None or kid is None:
            return {"key_id": None, "signature": None}
        signature = private.sign(receipt_message(receipt, kid))
        return {"key_id": kid, "signature": base64.b64encode(signature).decode("ascii")}

    def check_receipt(self, receipt: Mapping[str, Any]) -> str | None:
        """None when the receipt's signature is valid; otherwise why not."""
        kid, signature = receipt.get("key_id"), receipt.get("signature")
        if not kid or not signature:
            return "the receipt is not signed (key_id and signature are missing)"
        try:
            message = receipt_message(receipt, str(kid))
        except ValueError as error:
            return str(error)
        return self.check(str(kid), message, str(signature))

    def seal(self, stream: UUID | str, version: int, event_hash: str) -> str | None:
        """`<key id>:<HMAC-SHA256 hex>` of an event by the current key's seal secret; None while there is no key."""
        self.refresh()
        kid = self._current
        secret = None if kid is None else self._secrets.get(kid)
        if kid is None or secret is None:
            return None
        return f"{kid}:{hmac.digest(secret, seal_message(stream, version, event_hash), 'sha256').hex()}"

    def seal_problem(self, stream: UUID | str, version: int, event_hash: str, seal: str | None) -> str | None:
        """None when `seal` is the council's seal of that event; otherwise what is wrong with it."""
        if not seal:
            return "the event carries no seal: it was not written by the council's services"
        kid, _, mac = str(seal).partition(":")
        secret = self._secrets.get(kid)
        if secret is None:
            self.refresh(force=True)
            secret = self._secrets.get(kid)
            if secret is None:
                return f"the event is sealed with key {kid}, whose seal secret the council does not hold"
        expected = hmac.digest(secret, seal_message(stream, version, event_hash), "sha256").hex()
        if not hmac.compare_digest(expected, mac):
            return f"the event's seal does not match its stream, version and hash under key {kid}"
        return None

    def current_id(self) -> str | None:
        self.refresh()
        return self._current

    # -- changing (the `council keys` commands, `council db init`)

    def init(self, now: datetime) -> tuple[PublicKey, bool]:
        """The current key, created when there is none (True), and registered in the registry."""
        created = False
        if self._load_private() is None:
            _write_private(self.key_file, Ed25519PrivateKey.generate())
            created = True
        self.refresh(force=True)
        assert self._current is not None
        if self._keys[self._current].valid_from is None:
            self._register(self._current, now)
        elif self._current not in _read_secrets(self.seal_registry):  # registered before events were sealed
            self._keep_secrets(self._secrets)
        return self._keys[self._current], created

    def rotate(self, now: datetime) -> tuple[PublicKey, PublicKey | None]:
        """A new current key; the previous one stays in the registry as retired (valid until now)."""
        if self._pem:
            raise KeyringError("the signing key comes from COUNCIL_SIGNING_KEY: put the new key there (run "
                               "`council keys init` with it to register it); the old one is retired then")
        old, kept = self.current, dict(self._secrets)  # the old key's seal secret outlives its private key
        _write_private(self.key_file, Ed25519PrivateKey.generate(), replace_existing=True)
        self.refresh(force=True)
        assert self._current is not None
        self._register(self._current, now, kept)
        return self._keys[self._current], old

    def _keep_secrets(self, secrets: Mapping[str, bytes]) -> None:
        """Add `secrets` to the seal registry (mode 0600), keeping every secret already there."""
        merged = {**secrets, **_read_secrets(self.seal_registry)}
        _atomic_write(self.seal_registry, (json.dumps({k: v.hex() for k, v in merged.items()}, indent=2) + "\n")
                      .encode(), 0o600)

    def _register(self, kid: str, now: datetime, kept: Mapping[str, bytes] | None = None) -> None:
        """Record `kid` as current from `now`, retiring any other key still marked current."""
        keys = {k: (replace(v, valid_until=now) if v.valid_until is None and k != kid else v)
                for k, v in _read_registry(self.registry).items()}
        keys[kid] = replace(self._keys[kid], valid_from=now, valid_until=None)
        rows = [key.as_json() for key in keys.values()]
        self._keep_secrets({**(kept or {}), kid: self._secrets[kid]})
        _atomic_write(self.registry, (json.dumps({"keys": rows}, indent=2) + "\n").encode(), 0o644)
        self.refresh(force=True)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=64)
def _verifier(public_raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_raw)


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _parse_pem(data: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyringError(f"{where} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyringError(f"{where} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read_registry(path: Path) -> dict[str, PublicKey]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["keys"]
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError) as error:
        raise KeyringError(f"{path} is not a key registry: {error}") from None
    keys = [PublicKey.from_json(row) for row in rows]
    return {key.key_id: key for key in keys}


def _read_secrets(path: Path) -> dict[str, bytes]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {str(kid): bytes.fromhex(secret) for kid, secret in rows.items()}
    except FileNotFoundError:
        return {}
    except (ValueError, AttributeError, TypeError) as error:
        raise KeyringError(f"{path} is not a seal key registry: {error}") from None
    except OSError as error:
        raise KeyringError(f"cannot read the seal keys {path}: {error.strerror}") from None


def _write_private(path: Path, key: Ed25519PrivateKey, replace_existing: bool = False) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if path.exists() and not replace_existing:
        raise KeyringError(f"{path} exists already")
    _atomic_write(path, pem, 0o600)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write beside, with its mode from the first byte (never readable by others, even briefly), then rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)  # the umask may have taken bits away
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
