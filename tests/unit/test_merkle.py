"""The RFC 9162 Merkle tree: the Certificate Transparency reference values, a literal reference implementation,
and proofs that verify exactly when nothing was changed."""

from __future__ import annotations

import functools
import hashlib
import random
import time
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.merkle import (
    EMPTY_ROOT,
    Tree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The test tree every Certificate Transparency implementation uses (RFC 6962's reference code, the C++ and Go
# logs, transparency-dev/merkle): eight leaf entries and the tree hash of each prefix.
CT_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # empty tree: SHA-256("")
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 1): [],
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
CT_CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
CT_LEAF_HASHES = [leaf_hash(entry) for entry in CT_ENTRIES]


# --- a reference written straight from the RFC's recursive definitions, slow on purpose ---


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 over entries (not leaf hashes), recursively."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:])).digest()


def ref_path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n])."""
    n = len(entries)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: Sequence[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(entries)
    if m == n:
        return [] if b else [ref_mth(entries)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], b), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


@functools.cache
def shape(m: int, n: int) -> tuple[bool, ...] | None:
    """The sides of PATH(m, D[n]) from the leaf up (True: the sibling is on the left); None if m is not in D[n]."""
    if not 0 <= m < n:
        return None
    if n == 1:
        return ()
    k = _k(n)
    below = shape(m, k) if m < k else shape(m - k, n - k)
    assert below is not None
    return (*below, m >= k)


@functools.cache
def consistency_shape(m: int, n: int) -> tuple[tuple[bool, ...], bool] | None:
    """The sides of SUBPROOF(m, D[n], true) from the bottom up (True: the sibling is on the left) and whether the
    old tree is a complete left subtree; None outside 0 < m < n."""
    if not 0 < m < n:
        return None
    sides: list[bool] = []
    complete = True
    while m != n:
        k = _k(n)
        sides.append(m > k)
        if m > k:
            m, n, complete = m - k, n - k, False
        else:
            n = k
    return tuple(sides[::-1]), complete


def ref_proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


# --- helpers ---


def entries_of(n: int) -> list[bytes]:
    """n distinct entries of varied lengths."""
    return [i.to_bytes(4, "big") * (1 + i % 3) for i in range(n)]


def flip(value: bytes, position: int = 0) -> bytes:
    position %= len(value)
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


def hexes(values: Sequence[bytes]) -> list[str]:
    return [v.hex() for v in values]


# --- (1) known answers ---


def test_hashing_is_domain_separated_sha256():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert EMPTY_ROOT == hashlib.sha256(b"").digest() == root([]) == Tree().root()
    assert root([leaf_hash(b"x")]) == leaf_hash(b"x")


def test_the_certificate_transparency_roots():
    tree = Tree(CT_LEAF_HASHES)
    for size, expected in enumerate(CT_ROOTS):
        assert root(CT_LEAF_HASHES[:size]).hex() == expected
        assert tree.root(size).hex() == expected
        assert ref_mth(CT_ENTRIES[:size]).hex() == expected
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@pytest.mark.parametrize(("index", "size"), list(CT_INCLUSION))
def test_the_certificate_transparency_inclusion_proofs(index, size):
    expected = CT_INCLUSION[(index, size)]
    assert hexes(inclusion_proof(CT_LEAF_HASHES, index, size)) == expected
    assert hexes(Tree(CT_LEAF_HASHES).inclusion(index, size)) == expected
    proof = [bytes.fromhex(h) for h in expected]
    assert verify_inclusion(CT_LEAF_HASHES[index], index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), list(CT_CONSISTENCY))
def test_the_certificate_transparency_consistency_proofs(old, new):
    expected = CT_CONSISTENCY[(old, new)]
    assert hexes(consistency_proof(CT_LEAF_HASHES, old, new)) == expected
    assert hexes(Tree(CT_LEAF_HASHES).consistency(old, new)) == expected
    proof = [bytes.fromhex(h) for h in expected]
    assert verify_consistency(old, new, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new]), proof)
    assert not verify_consistency(old, new, bytes.fromhex(CT_ROOTS[old - 1]), bytes.fromhex(CT_ROOTS[new]), proof)


def test_edges_and_refusals():
    tree = Tree(CT_LEAF_HASHES)
    top = tree.root()
    assert not verify_inclusion(CT_LEAF_HASHES[0], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(CT_LEAF_HASHES[0], -1, 8, tree.inclusion(0), top)
    assert not verify_inclusion(CT_LEAF_HASHES[0], 8, 8, tree.inclusion(0), top)
    assert not verify_inclusion(CT_LEAF_HASHES[0], 0, 8, [*tree.inclusion(0), top], top)
    assert not verify_inclusion(CT_LEAF_HASHES[0], 0, 8, tree.inclusion(0)[:-1], top)
    assert not verify_inclusion(CT_LEAF_HASHES[0][:31], 0, 1, [], CT_LEAF_HASHES[0][:31])
    assert verify_inclusion(CT_LEAF_HASHES[0], 0, 1, [], tree.root(1))
    assert verify_consistency(0, 8, EMPTY_ROOT, top, [])
    assert not verify_consistency(0, 8, tree.root(1), top, [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, top, [top])
    assert verify_consistency(8, 8, top, top, [])
    assert not verify_consistency(8, 8, top, tree.root(7), [])
    assert not verify_consistency(8, 8, top, top, [top])
    assert not verify_consistency(5, 4, tree.root(5), tree.root(4), [])
    assert not verify_consistency(-1, 4, tree.root(5), tree.root(4), [])
    assert not verify_consistency(3, 8, tree.root(3), top, [])
    assert not verify_consistency(3, 8, tree.root(3), top, [p[:31] for p in tree.consistency(3)])
    assert tree.consistency(0) == [] == tree.consistency(8) == consistency_proof(CT_LEAF_HASHES, 0, 8)
    assert len(tree) == tree.size == 8 and tree.leaf(7) == CT_LEAF_HASHES[7]
    with pytest.raises(ValueError, match="not 32"):
        tree.append(b"short")
    with pytest.raises(ValueError, match="not 32"):
        root([b"short"])
    with pytest.raises(ValueError, match="not within"):
        tree.root(9)
    with pytest.raises(ValueError, match="not in a tree"):
        tree.inclusion(8)
    with pytest.raises(ValueError, match="not in a tree"):
        tree.leaf(8)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(CT_LEAF_HASHES, 3, 9)
    with pytest.raises(ValueError, match="not a prefix"):
        tree.consistency(9, 8)
    with pytest.raises(ValueError, match="not a prefix"):
        consistency_proof(CT_LEAF_HASHES, 5, 4)


# --- (2) and (3): generated trees against the reference and against tampering ---

sizes = st.integers(min_value=1, max_value=200)
seeds = st.integers(min_value=0, max_value=2**32)
slow = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(st.integers(min_value=0, max_value=300))
def test_the_efficient_root_equals_the_recursive_definition(n):
    entries = entries_of(n)
    leaves = [leaf_hash(e) for e in entries]
    expected = ref_mth(entries)
    assert root(leaves) == expected
    assert root(iter(leaves)) == expected
    assert Tree(leaves).root() == expected


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=48))
def test_the_tree_answers_every_prefix_as_the_reference_does(n):
    entries = entries_of(n)
    leaves = [leaf_hash(e) for e in entries]
    tree = Tree()
    for size in range(n + 1):
        assert tree.root() == ref_mth(entries[:size]) == root(leaves[:size])
        if size < n:
            tree.append(leaves[size])
    for size in range(1, n + 1):
        for index in range(size):
            expected = ref_path(index, entries[:size])
            assert tree.inclusion(index, size) == expected == inclusion_proof(leaves, index, size)
        for old in range(1, size + 1):
            expected = ref_proof(old, entries[:size]) if old < size else []
            assert tree.consistency(old, size) == expected == consistency_proof(leaves, old, size)


@slow
@given(sizes, seeds)
def test_every_inclusion_proof_verifies_and_no_altered_one_does(n, seed):
    rnd = random.Random(seed)
    leaves = [leaf_hash(e) for e in entries_of(n)]
    tree = Tree(leaves)
    roots = [tree.root(size) for size in range(n + 1)]
    for size in range(1, n + 1):
        top = roots[size]
        for index in range(size):
            leaf, proof = leaves[index], tree.inclusion(index, size)
            assert verify_inclusion(leaf, index, size, proof, top)
            assert not verify_inclusion(flip(leaf, rnd.randrange(32)), index, size, proof, top)
            assert not verify_inclusion(leaf, index, size, proof, flip(top, rnd.randrange(32)))
            for j in range(len(proof)):
                altered = [*proof[:j], flip(proof[j], rnd.randrange(32)), *proof[j + 1 :]]
                assert not verify_inclusion(leaf, index, size, altered, top)
            other = rnd.randrange(size)
            assert other == index or not verify_inclusion(leaf, other, size, proof, top)
            for wrong in {index - 1, index + 1, size - 1 - index} - {index}:
                assert not verify_inclusion(leaf, wrong, size, proof, top)
            for wrong_size in {size - 1, size + 1, rnd.randrange(1, n + 2)} - {size}:
                # The proof does not carry the size: it fails unless the leaf's path has the same shape in a tree of
                # wrong_size (leaf 0 of 3 and of 4, say), which is why a size is only ever taken with its root
                # from one signed checkpoint.
                same_shape = shape(index, size) == shape(index, wrong_size)
                assert verify_inclusion(leaf, index, wrong_size, proof, top) == same_shape
            if size > 1:
                assert not verify_inclusion(leaf, index, size, proof, roots[size - 1])
                assert not verify_inclusion(leaf, index, size, proof[:-1], top)
                assert not verify_inclusion(leaf, index, size, [*proof, proof[-1]], top)


@slow
@given(sizes, seeds)
def test_every_consistency_proof_verifies_and_no_altered_one_does(n, seed):
    rnd = random.Random(seed)
    leaves = [leaf_hash(e) for e in entries_of(n)]
    tree = Tree(leaves)
    roots = [tree.root(size) for size in range(n + 1)]
    for new in range(n + 1):
        for old in range(new + 1):
            proof = tree.consistency(old, new)
            assert verify_consistency(old, new, roots[old], roots[new], proof)
            assert not verify_consistency(old, new, flip(roots[old], rnd.randrange(32)), roots[new], proof)
            if old > 0:  # the empty tree is a prefix of any tree: nothing binds the new root then
                assert not verify_consistency(old, new, roots[old], flip(roots[new], rnd.randrange(32)), proof)
            for j in range(len(proof)):
                altered = [*proof[:j], flip(proof[j], rnd.randrange(32)), *proof[j + 1 :]]
                assert not verify_consistency(old, new, roots[old], roots[new], altered)
            if 0 < old < new:
                # As with inclusion, the sizes are bound by the signed roots, not by the proof: other sizes pass
                # exactly when PROOF has the same shape for them (1 -> 3 and 1 -> 4, say).
                for wrong_old, wrong_new in {(old - 1, new), (old + 1, new), (old, new - 1), (old, new + 1)}:
                    same_shape = consistency_shape(old, new) == consistency_shape(wrong_old, wrong_new)
                    assert verify_consistency(wrong_old, wrong_new, roots[old], roots[new], proof) == same_shape
                assert not verify_consistency(old, new, roots[old], roots[new], proof[:-1])
                assert not verify_consistency(old, new, roots[old], roots[new], [*proof, proof[-1]])
                if len(proof) > 1:
                    assert not verify_consistency(old, new, roots[old], roots[new], proof[::-1])


@slow
@given(st.integers(min_value=2, max_value=200), st.data())
def test_a_rewritten_history_is_caught(n, data):
    """A changed or swapped leaf below an old head: no consistency proof from the new tree reaches it."""
    leaves = [leaf_hash(e) for e in entries_of(n)]
    old = data.draw(st.integers(min_value=1, max_value=n - 1))
    victim = data.draw(st.integers(min_value=0, max_value=old - 1))
    forged = list(leaves)
    forged[victim] = leaf_hash(b"forged")
    forged_tree = Tree(forged)
    honest_old_root = root(leaves[:old])
    assert forged_tree.root() != Tree(leaves).root()
    assert not verify_consistency(old, n, honest_old_root, forged_tree.root(), forged_tree.consistency(old))
    assert not verify_inclusion(leaves[victim], victim, n, forged_tree.inclusion(victim), forged_tree.root())
    swapped = list(leaves)
    swapped[victim], swapped[-1] = swapped[-1], swapped[victim]
    swapped_tree = Tree(swapped)
    assert not verify_consistency(old, n, honest_old_root, swapped_tree.root(), swapped_tree.consistency(old))


def test_timing_of_large_roots(capsys):
    """Not an assertion of speed: prints how long a root and a full tree take at 100,000 and 1,000,000 leaves."""
    lines = []
    for n in (100_000, 1_000_000):
        started = time.perf_counter()
        leaves = [leaf_hash(i.to_bytes(8, "big")) for i in range(n)]
        hashed = time.perf_counter()
        top = root(leaves)
        rooted = time.perf_counter()
        tree = Tree(leaves)
        built = time.perf_counter()
        assert tree.root() == top
        proof = tree.inclusion(n // 3)
        consistency = tree.consistency(n // 2 + 1)
        proved = time.perf_counter()
        assert verify_inclusion(leaves[n // 3], n // 3, n, proof, top)
        assert verify_consistency(n // 2 + 1, n, tree.root(n // 2 + 1), top, consistency)
        lines.append(
            f"merkle n={n:>9,}: leaf hashes {hashed - started:.2f}s, root {rooted - hashed:.2f}s, "
            f"Tree {built - rooted:.2f}s, one inclusion + one consistency proof {(proved - built) * 1000:.2f}ms"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines))
