"""The Merkle tree of RFC 9162 (Certificate Transparency v2): tree hashes, inclusion and consistency proofs.

Standard library only, so an outside verifier can read and run it as it is.

Hashing, exactly (RFC 9162 §2.1.1, the same as RFC 6962 §2.1), with HASH = SHA-256 (32-byte digests):

- leaf hash:  ``SHA-256(0x00 || entry)``, where ``entry`` is the leaf's bytes exactly as given; this module
  hashes whatever entry bytes it is handed (what par-council puts in a leaf is defined where the log is built);
- node hash:  ``SHA-256(0x01 || left || right)``, ``left`` and ``right`` being the 32-byte hashes of the
  two children;
- tree hash MTH of the list D[n] of n entries:
    - n = 0: ``SHA-256()`` of the empty string (``e3b0c442…b855``);
    - n = 1: the leaf hash of D[0];
    - n > 1: with k the largest power of two smaller than n (k < n <= 2k),
      ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``.

  The tree is never padded and no node is duplicated: an odd node is carried up unchanged.

Proofs are lists of 32-byte node hashes in the order of RFC 9162: an inclusion proof is PATH (§2.1.3.1), the
leaf's sibling first and the root's child last; a consistency proof is PROOF (§2.1.4.1). Both are verified by
the algorithms of §2.1.3.2 and §2.1.4.2, written here step by step as the RFC states them. The RFC defines
consistency proofs for 0 < old < new; this module also answers the two edge cases: old = new (the proof is
empty and the roots must be equal) and old = 0 (the empty tree is a prefix of every tree: the proof is empty
and the old root must be the empty tree's hash).

A proof does not commit to the tree size by itself: the root does. PATH(0, D[3]) and PATH(0, D[4]) have the same
shape, and so do PROOF(1, D[3]) and PROOF(1, D[4]), so a proof made for one size also passes verification under
the other size with the same root. Take a size and its root together from one signed tree head, never separately.

Functions taking ``leaf_hashes`` expect the 32-byte leaf hashes (``leaf_hash(entry)``), not the entries.
The module-level ``root``, ``inclusion_proof`` and ``consistency_proof`` read the list once (O(n) hashes);
``Tree`` keeps every complete subtree and answers for any size up to its own in O(log n) (roots) or
O(log² n) (proofs) hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Tree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the hash of one leaf."""
    return _sha256(LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return _sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


def root(leaf_hashes: Iterable[bytes], /) -> bytes:
    """MTH over the given leaf hashes (RFC 9162 §2.1.1), in one pass and O(log n) memory.

    A stack holds the roots of the complete subtrees seen so far (one per set bit of the count, largest
    first); after the i-th leaf (1-based), the leaf is merged with as many stacked roots as i has trailing
    zero bits. The final tree hash folds the stack from the right, which is what the recursive definition
    computes because it always splits at the largest power of two.
    """
    stack: list[bytes] = []
    count = 0
    for value in leaf_hashes:
        if len(value) != HASH_SIZE:
            _check_hash(value, f"leaf hash {count}")
        count += 1
        node = value
        merges = count
        while not merges & 1:
            node = _sha256(NODE_PREFIX + stack.pop() + node).digest()
            merges >>= 1
        stack.append(node)
    if not stack:
        return EMPTY_ROOT
    node = stack.pop()
    while stack:
        node = _sha256(NODE_PREFIX + stack.pop() + node).digest()
    return bytes(node)


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, from the first ``size`` leaf hashes.

    Walks from the root down to the leaf, keeping the sibling at each level; the proof lists them from the
    leaf up. O(size) hashes.
    """
    if not 0 <= index < size <= len(leaf_hashes):
        raise ValueError(f"leaf {index} is not in a tree of {size} (of {len(leaf_hashes)} leaves)")
    siblings: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            siblings.append(root(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            siblings.append(root(leaf_hashes[lo : lo + k]))
            lo += k
    siblings.reverse()
    return siblings


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 (SUBPROOF with b = true), from the leaf hashes.

    Empty when old_size is 0 or equal to new_size. O(new_size) hashes.
    """
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise ValueError(f"a tree of {old_size} is not a prefix of one of {new_size} (of {len(leaf_hashes)})")
    if old_size in (0, new_size):
        return []
    siblings: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            siblings.append(root(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            siblings.append(root(leaf_hashes[lo : lo + k]))
            lo += k
            m -= k
            complete = False
    # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
    head = [] if complete else [root(leaf_hashes[lo:hi])]
    return head + siblings[::-1]


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf with this hash at ``index`` of the tree ``root`` of ``size``?"""
    if not 0 <= index < size:  # 1. leaf_index >= tree_size: fail
        return False
    if len(leaf_hash) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    fn, sn = index, size - 1  # 2.
    r = bytes(leaf_hash)  # 3.
    for p in proof:  # 4.
        if len(p) != HASH_SIZE:
            return False
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            r = _sha256(NODE_PREFIX + p + r).digest()
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(NODE_PREFIX + r + p).digest()
        fn >>= 1  # c.
        sn >>= 1
    return sn == 0 and _equal(r, root)  # 5.


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``old_root`` of ``old_size`` a prefix of the tree ``new_root`` of ``new_size``?

    Outside the RFC's 0 < old < new: old = new holds with an empty proof and equal roots; old = 0 holds with an
    empty proof when old_root is the empty tree's hash.
    """
    if not 0 <= old_size <= new_size:
        return False
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE or any(len(c) != HASH_SIZE for c in proof):
        return False
    if old_size == new_size:
        return not proof and _equal(old_root, new_root)
    if old_size == 0:
        return not proof and _equal(old_root, EMPTY_ROOT)
    if not proof:  # 1.
        return False
    path = [bytes(c) for c in proof]
    if _is_power_of_two(old_size):  # 2.
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1  # 3.
    while fn & 1:  # 4.
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            fr = _sha256(NODE_PREFIX + c + fr).digest()
            sr = _sha256(NODE_PREFIX + c + sr).digest()
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(NODE_PREFIX + sr + c).digest()
        fn >>= 1  # c.
        sn >>= 1
    return _equal(fr, old_root) and _equal(sr, new_root) and sn == 0  # 7.


class Tree:
    """An append-only Merkle tree over leaf hashes that answers for every size up to its own.

    It keeps every complete subtree: level j holds, packed 32 bytes apiece, the hash of each aligned run of 2**j
    leaves seen so far (floor(n / 2**j) of them), so about 2n hashes, 64 bytes a leaf, in all.
    ``append`` costs one leaf plus, amortized, one node hash (at most log2 n); ``root(size)`` costs at most
    log2 n node hashes; ``inclusion`` and ``consistency`` at most O(log² n), because every node an RFC 9162
    proof names is either a stored complete subtree or the right edge of the tree at that size, rebuilt from
    O(log n) stored subtrees. Nothing is cached between calls.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        self.extend(leaf_hashes)

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Adds one leaf by its 32-byte leaf hash (``leaf_hash(entry)``)."""
        _check_hash(leaf_hash, f"leaf hash {self._size}")
        levels = self._levels
        levels[0] += leaf_hash
        self._size += 1
        count, level = self._size, 0
        while not count & 1:
            if len(levels) == level + 1:
                levels.append(bytearray())
            below = levels[level]
            levels[level + 1] += _sha256(NODE_PREFIX + below[-2 * HASH_SIZE :]).digest()
            count >>= 1
            level += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for value in leaf_hashes:
            self.append(value)

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        if not 0 <= index < self._size:
            raise ValueError(f"leaf {index} is not in a tree of {self._size}")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = self._checked_size(size)
        return self._hash(0, size)

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1 (the whole tree by default)."""
        size = self._checked_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of {size}")
        siblings: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                siblings.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._hash(lo, lo + k))
                lo += k
        siblings.reverse()
        return siblings

    def consistency(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 (to the whole tree by default)."""
        new_size = self._checked_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"a tree of {old_size} is not a prefix of one of {new_size}")
        if old_size in (0, new_size):
            return []
        siblings: list[bytes] = []
        lo, hi, m, complete = 0, new_size, old_size, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                siblings.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                siblings.append(self._hash(lo, lo + k))
                lo += k
                m -= k
                complete = False
        head = [] if complete else [self._hash(lo, hi)]
        return head + siblings[::-1]

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} is not within the tree's {self._size} leaves")
        return size

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a node of the RFC tree: lo is a multiple of the smallest power of two >= hi - lo.

        The range splits into the complete subtrees of the binary digits of hi - lo, largest first, each aligned
        and stored; MTH folds them from the right.
        """
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if lo & ((1 << (n - 1).bit_length()) - 1):
            raise AssertionError(f"[{lo}, {hi}) is not a node of the tree")
        parts: list[bytes] = []
        position = lo
        for level in range(n.bit_length() - 1, -1, -1):
            if n >> level & 1:
                parts.append(self._node(level, position >> level))
                position += 1 << level
        node = parts.pop()
        while parts:
            node = _sha256(NODE_PREFIX + parts.pop() + node).digest()
        return node
