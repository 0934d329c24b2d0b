"""Criteria trees (field → criterion → sub-criterion) as validated, content-hashed data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import DomainError, FrameworkError, NotFoundError
from domain.values import CENT, to_points

# appraisal: self-scored by the unit, appraised by the Council; targets: socio-economic indicators the Secretariat
# records from official statistics; survey: from the sociological survey. Never self-scored but appraisal leaves.
METHODS = ("appraisal", "targets", "survey")
LEVELS = ("province", "ministry")
COUNT_NAMES = {1: "fields", 2: "criteria", 3: "sub_criteria"}


@dataclass(frozen=True)
class Node:
    code: str
    title: str
    max_points: Decimal
    method: str | None = None
    step: Decimal = CENT
    children: tuple[Node, ...] = ()

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def depth(self) -> int:
        return self.code.count(".") + 1

    @property
    def field(self) -> str:
        return self.code.split(".")[0]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Framework:
    """A loaded criteria tree; `data` is the file's content, copied whole into a round's opening event."""

    id: str
    level: str
    title: str
    fields: tuple[Node, ...]
    data: Mapping[str, Any]
    hash: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Framework:
        fields = tuple(_node(raw, parent="") for raw in _required(data, "fields", "tree"))
        framework = cls(
            id=str(_required(data, "id", "tree")),
            level=str(_required(data, "level", "tree")),
            title=str(data.get("title", "")),
            fields=fields,
            data=data,
            hash=content_hash(data),
        )
        framework._validate()
        return framework

    def nodes(self) -> Iterator[Node]:
        for field in self.fields:
            yield from field.walk()

    def leaves(self, method: str | None = None) -> list[Node]:
        return [n for n in self.nodes() if n.is_leaf and method in (None, n.method)]

    def leaf(self, code: str) -> Node:
        for node in self.nodes():
            if node.code == code and node.is_leaf:
                return node
        raise NotFoundError(f"criteria tree {self.id} has no leaf {code!r}", leaf=code)

    def total(self, method: str | None = None) -> Decimal:
        return sum((n.max_points for n in self.leaves(method)), Decimal("0.00"))

    def _validate(self) -> None:
        if self.level not in LEVELS:
            raise FrameworkError(f"tree {self.id}: level must be one of {LEVELS}, not {self.level!r}")
        seen: set[str] = set()
        for node in self.nodes():
            if node.code in seen:
                raise FrameworkError(f"node {node.code}: code is used twice", node=node.code)
            seen.add(node.code)
        if self.total() != Decimal(100):
            raise FrameworkError(f"tree {self.id}: leaves add up to {self.total()}, not 100.00", node=self.id)
        self._check_expected()

    def _check_expected(self) -> None:
        expected = self.data.get("expected") or {}
        counts = {name: 0 for name in COUNT_NAMES.values()}
        for node in self.nodes():
            counts[COUNT_NAMES[node.depth]] += 1
        for name, count in counts.items():
            if name in expected and int(expected[name]) != count:
                raise FrameworkError(f"tree {self.id}: {count} {name}, expected {expected[name]}", node=self.id)
        for code, maximum in (expected.get("field_points") or {}).items():
            found = next((field.max_points for field in self.fields if field.code == code), None)
            if found is None or found != to_points(maximum):
                raise FrameworkError(f"tree {self.id}: field {code} has max {found}, expected {maximum}", node=code)
        for method in METHODS:
            key = f"{method}_points"
            if key in expected and to_points(expected[key]) != self.total(method):
                raise FrameworkError(
                    f"tree {self.id}: {method} leaves add up to {self.total(method)}, expected {expected[key]}",
                    node=self.id,
                )


def content_hash(data: Mapping[str, Any]) -> str:
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _node(raw: Mapping[str, Any], parent: str) -> Node:
    code = str(_required(raw, "code", f"a child of {parent or 'the tree'}"))
    where = f"node {code}"
    if parent and not code.startswith(parent + "."):
        raise FrameworkError(f"{where}: code must start with its parent's code {parent}.", node=code)
    if code.count(".") > 2:
        raise FrameworkError(f"{where}: the tree has three levels at most", node=code)
    children = tuple(_node(child, parent=code) for child in raw.get("children") or ())
    node = Node(
        code=code,
        title=str(_required(raw, "title", where)),
        max_points=_points(raw, "max_points", where),
        method=raw.get("method"),
        step=_points(raw, "step", where) if "step" in raw else CENT,
        children=children,
    )
    _check_node(node)
    return node


def _check_node(node: Node) -> None:
    where = f"node {node.code}"
    if node.is_leaf:
        if node.depth == 1:
            raise FrameworkError(f"{where}: a field needs criteria", node=node.code)
        if node.method not in METHODS:
            raise FrameworkError(f"{where}: method must be one of {METHODS}, not {node.method!r}", node=node.code)
        if node.step <= 0 or node.max_points % node.step != 0:
            raise FrameworkError(f"{where}: max {node.max_points} is not a multiple of step {node.step}",
                                 node=node.code)
        return
    if node.method is not None:
        raise FrameworkError(f"{where}: only leaves have a method", node=node.code)
    total = sum((c.max_points for c in node.children), Decimal("0.00"))
    if total != node.max_points:
        raise FrameworkError(f"{where}: children add up to {total}, not its max {node.max_points}", node=node.code)


def _points(raw: Mapping[str, Any], key: str, where: str) -> Decimal:
    try:
        value = to_points(_required(raw, key, where))
    except DomainError as error:
        raise FrameworkError(f"{where}: {key} {error}", node=where) from None
    if value < 0:
        raise FrameworkError(f"{where}: {key} is negative", node=where)
    return value


def _required(raw: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise FrameworkError(f"{where}: missing {key!r}", node=where)
    return raw[key]
