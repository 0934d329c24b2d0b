"""Value types shared by the aggregates: points, roles, actors, documents, windows, units."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.errors import (
    ForbiddenRoleError,
    InvalidDocumentError,
    InvalidPointsError,
    InvalidRoundError,
    PointsOffGridError,
    PointsOutOfRangeError,
    WrongUnitError,
)

CENT = Decimal("0.01")
MAX_POINTS = Decimal("999.99")  # three integer digits: the API's pattern, far above any leaf, field or index
# Points as text: ASCII digits only (never Arabic-Indic, full-width, "_", signs, exponents or spaces), one to
# three before the point and one or two after it. The API documents this pattern; `\d` is avoided because
# other regex dialects (Python's among them) let it match every Unicode digit.
POINTS_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"
POINTS_TEXT_MAX = 6  # "999.99"
_POINTS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")
_NEGATIVE = re.compile(r"-[0-9]{1,3}(?:\.[0-9]+)?")
_MORE_PLACES = re.compile(r"[0-9]{1,3}\.[0-9]{3,}")
_TOO_LARGE = re.compile(r"[0-9]{4,}(?:\.[0-9]*)?")
_LONGEST_ANSWERED = 32  # longer text is refused without being parsed or echoed


def to_points(value: object) -> Decimal:
    """Parse points exactly: a string matching POINTS_PATTERN, or an int or Decimal in [0, 999.99] with at most
    two decimals; never a float. Negative zero becomes zero."""
    if isinstance(value, (float, bool)) or not isinstance(value, (str, int, Decimal)):
        raise InvalidPointsError(f"points must be a decimal string, not {type(value).__name__}")
    if isinstance(value, str):
        return _points_text(value)
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidPointsError(f"points {value!r} are not a finite number")
    if number < 0:
        raise PointsOutOfRangeError(f"points {value} are negative")
    if number > MAX_POINTS:
        raise PointsOutOfRangeError(f"points {value} are above {MAX_POINTS}")
    if number != number.quantize(CENT):
        raise PointsOffGridError(f"points {value} have more than two decimals")
    return number.copy_abs().quantize(CENT)


def _points_text(text: str) -> Decimal:
    if _POINTS.fullmatch(text):
        return Decimal(text).quantize(CENT)
    if len(text) > _LONGEST_ANSWERED:
        raise InvalidPointsError(f'points are a decimal string such as "1.25" ({POINTS_TEXT_MAX} characters at '
                                 f"most), not {len(text)} characters")
    if _NEGATIVE.fullmatch(text):
        raise PointsOutOfRangeError(f"points {text!r} are negative")
    if _MORE_PLACES.fullmatch(text):
        raise PointsOffGridError(f"points {text} have more than two decimals")
    if _TOO_LARGE.fullmatch(text):
        raise PointsOutOfRangeError(f"points {text!r} are above {MAX_POINTS}")
    raise InvalidPointsError(f'points {text!r} are not a decimal string such as "1.25" (ASCII digits, at most '
                             "three before the point and two after it, no sign, exponent or spaces)")


def check_points(points: Decimal, maximum: Decimal, step: Decimal, leaf: str) -> Decimal:
    """Points for a leaf must lie in [0, max] on the leaf's grid (0.01 unless the tree says)."""
    if not Decimal(0) <= points <= maximum:
        raise PointsOutOfRangeError(f"leaf {leaf}: {points} is outside [0, {maximum}]", maximum=str(maximum))
    if points % step != 0:
        raise PointsOffGridError(f"leaf {leaf}: {points} is not a multiple of {step}", step=str(step))
    return points


class Role(StrEnum):
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    COUNCIL = "council"
    UNIT = "unit"
    INSPECTOR = "inspector"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts, in which role, and for whom: a unit officer's unit, a council member's fields and ministry."""

    id: str
    role: Role
    unit: str | None = None
    fields: tuple[str, ...] = ()
    ministry: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            id=data["id"],
            role=Role(data["role"]),
            unit=data.get("unit"),
            fields=tuple(data.get("fields") or ()),
            ministry=data.get("ministry"),
        )

    def require_reader(self, unit: str) -> None:
        """Who reads a unit's scores: the Secretariat, the Council, inspectors, and the unit's own officers."""
        if self.role == Role.UNIT:
            if self.unit != unit:
                raise WrongUnitError(f"an officer of unit {self.unit} may not read the dossier of unit {unit}")
            return
        self.require_role(Role.SECRETARIAT, Role.COUNCIL, Role.INSPECTOR, Role.SYSTEM)

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise ForbiddenRoleError(f"role {self.role.value} may not do this (needs {allowed})", role=self.role.value)


SYSTEM = Actor(id="system:scheduler", role=Role.SYSTEM)


@dataclass(frozen=True)
class Document:
    """Evidence metadata; the bytes live in the content-addressed store under `sha256`."""

    sha256: str
    name: str
    media_type: str
    size: int
    number: str = ""
    issued_on: str = ""
    issuer: str = ""

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise InvalidDocumentError(f"document {self.name!r}: sha256 must be 64 lowercase hex digits")
        if self.size < 0 or not self.name.strip():
            raise InvalidDocumentError("a document needs a name and a size")
        if self.issued_on:
            try:
                date.fromisoformat(self.issued_on)
            except ValueError:
                raise InvalidDocumentError(f"document {self.name!r}: issued_on must be YYYY-MM-DD") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(**data)

    @staticmethod
    def clean_name(raw: str, fallback: str = "evidence", max_bytes: int = 255) -> str:
        """A client's file name as kept and shown: the one place names are normalized.

        NFC; only its last path part (`/` and `\\` both separate); white space as single spaces; no control,
        format (bidi overrides such as U+202E, zero-width), surrogate, private-use or unassigned characters;
        the characters Windows refuses in names (`<>:"|?*`) as `_`; no leading or trailing dots or spaces; at most
        `max_bytes` bytes of UTF-8, cut from the stem so a short extension survives. Nothing left: `fallback`.
        Names already recorded are never rewritten: this applies when a document is built, not when read back.
        """
        import unicodedata

        text = unicodedata.normalize("NFC", str(raw))
        text = "".join(" " if ch.isspace() else ch for ch in text
                       if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
        text = text.replace("\\", "/").rsplit("/", 1)[-1]
        text = " ".join(text.translate({ord(c): "_" for c in '<>:"|?*'}).split()).strip(" .")
        if len(text.encode("utf-8")) > max_bytes:
            stem, dot, extension = text.rpartition(".")
            if not dot or not stem or len(extension.encode("utf-8")) > 16:
                stem, dot, extension = text, "", ""
            room = max_bytes - len(f"{dot}{extension}".encode())
            stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(" .")
            text = f"{stem}{dot}{extension}" if stem else ""
        return unicodedata.normalize("NFC", text) or fallback


@dataclass(frozen=True)
class Window:
    """A time window in which units may write; closed at `closes_at` (exclusive)."""

    opens_at: datetime
    closes_at: datetime

    def __post_init__(self) -> None:
        if self.opens_at.tzinfo is None or self.closes_at.tzinfo is None:
            raise InvalidRoundError("window times need a time zone")
        if self.opens_at >= self.closes_at:
            raise InvalidRoundError(f"window opens at {self.opens_at} but closes at {self.closes_at}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Window:
        return cls(**{k: _as_datetime(v) for k, v in data.items()})


@dataclass(frozen=True)
class Unit:
    """A scored unit of a round: a province (GSO code) or a ministry; `ranked` false keeps it out of ranks."""

    code: str
    name: str
    region: str = ""
    ranked: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unit:
        return cls(**data)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def blank(text: str | None) -> bool:
    return not (text or "").strip()


@dataclass(frozen=True)
class ScoreAddress:
    """Where a score lives: round × unit × leaf (its stream id is derived from these three)."""

    round_key: str
    unit: str
    leaf: str

    def __str__(self) -> str:
        return f"{self.round_key}/{self.unit}/{self.leaf}"



@dataclass(frozen=True)
class Context:
    """Who issues a command, under which request id, at what server time."""

    actor: Actor
    request_id: str
    now: datetime

    def stamp(self) -> dict[str, Any]:
        """The fields every event takes from its command's context."""
        return {"actor": self.actor, "request_id": self.request_id, "timestamp": self.now}
