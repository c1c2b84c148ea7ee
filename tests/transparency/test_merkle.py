"""Known-answer tests of the RFC 9162 tree hashing against RFC 6962's published vectors.

The vectors are the 8-leaf tree that Certificate Transparency implementations share
(google/certificate-transparency's merkle_tree_test.cc, transparency-dev/merkle's testonly
constants): leaf inputs, every root from size 0 to 8, and known inclusion and consistency paths.
"""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.transparency.merkle import (
    EMPTY_ROOT,
    MerkleProofError,
    MerkleTree,
    RootBuilder,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip

ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

LEAF_HASHES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]

# (leaf index, tree size, path): 0-based indices.
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def _hexes(hashes):
    return [h.hex() for h in hashes]


def _tree(size=8):
    return MerkleTree(leaf_hash(leaf) for leaf in LEAVES[:size])


def test_leaf_hashes_match_the_vectors():
    assert [leaf_hash(leaf).hex() for leaf in LEAVES] == LEAF_HASHES


def test_empty_root_is_the_hash_of_nothing():
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert RootBuilder().root() == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_vectors_for_every_size(size):
    hashes = [leaf_hash(leaf) for leaf in LEAVES[:size]]
    assert root_hash(hashes).hex() == ROOTS[size]
    assert _tree().root(size).hex() == ROOTS[size]


def test_streaming_root_matches_at_every_intermediate_size():
    builder = RootBuilder()
    for size, leaf in enumerate(LEAVES, start=1):
        builder.append_leaf(leaf)
        assert builder.size == size
        assert builder.root().hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index, size, path):
    tree = _tree()
    assert _hexes(tree.inclusion_proof(index, size)) == path
    root = bytes.fromhex(ROOTS[size])
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, [bytes.fromhex(h) for h in path], root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(old, new, path):
    tree = _tree()
    assert _hexes(tree.consistency_proof(old, new)) == path
    proof = [bytes.fromhex(h) for h in path]
    verify_consistency(old, new, proof, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]))


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION[1:])
def test_corrupted_inclusion_proofs_fail(index, size, path):
    proof = [bytes.fromhex(h) for h in path]
    root = bytes.fromhex(ROOTS[size])
    hashed = leaf_hash(LEAVES[index])
    bad_cases = [
        (hashed, index + 1, size, proof, root),
        (hashed, index, size * 2, proof, root),
        (hashed, index, size, proof, EMPTY_ROOT),
        (leaf_hash(b"wrong"), index, size, proof, root),
        (hashed, index, size, [*proof, root], root),
        (hashed, index, size, [root, *proof], root),
        (hashed, index, size, proof[:-1], root),
    ]
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 8
        bad_cases.append((hashed, index, size, [*proof[:i], bytes(flipped), *proof[i + 1 :]], root))
    for case in bad_cases:
        with pytest.raises(MerkleProofError):
            verify_inclusion(*case)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY[1:])
def test_corrupted_consistency_proofs_fail(old, new, path):
    proof = [bytes.fromhex(h) for h in path]
    r1, r2 = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    bad_cases = [
        (old - 1, new, proof, r1, r2),
        (old + 1, new, proof, r1, r2),
        (old, new * 2, proof, r1, r2),
        (old, new, proof, r2, r1),
        (old, new, [], r1, r2),
        (old, new, [*proof, r1], r1, r2),
        (old, new, [r2, *proof], r1, r2),
        (old, new, proof[:-1], r1, r2),
    ]
    for case in bad_cases:
        with pytest.raises(MerkleProofError):
            verify_consistency(*case)


def test_same_size_different_roots_is_a_fork():
    with pytest.raises(MerkleProofError, match="fork"):
        verify_consistency(8, 8, [], bytes.fromhex(ROOTS[8]), bytes.fromhex(ROOTS[7]))


def test_an_interior_node_cannot_pass_as_a_leaf():
    # Node (0,1) is H(0x01 || h0 || h1); presenting h0 || h1 as a leaf one level up must fail
    # because leaves are hashed with 0x00, not 0x01 (RFC 9162 section 2.1.1).
    tree = _tree()
    forged_leaf = tree.leaf_hash_at(0) + tree.leaf_hash_at(1)
    assert node_hash(tree.leaf_hash_at(0), tree.leaf_hash_at(1)) == tree.subtree_hash(0, 2)
    proof_of_node = tree.inclusion_proof(0, 8)[1:]
    for index, size in [(0, 4), (0, 8)]:
        with pytest.raises(MerkleProofError):
            verify_inclusion(leaf_hash(forged_leaf), index, size, proof_of_node, tree.root())


def _reference_mth(hashes):
    # RFC 9162 section 2.1.1 as written, recursively.
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(
        b"\x01" + _reference_mth(hashes[:k]) + _reference_mth(hashes[k:])
    ).digest()


@given(st.integers(min_value=1, max_value=70))
def test_every_proof_round_trips_for_random_sizes(n):
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree(hashes)
    assert tree.root() == _reference_mth(hashes) == root_hash(hashes)
    for size in {1, n // 2 or 1, n}:
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert root_from_inclusion_proof(hashes[index], index, size, proof) == root
    for old, new in itertools.combinations_with_replacement(sorted({0, 1, n // 3, n // 2, n}), 2):
        verify_consistency(
            old, new, tree.consistency_proof(old, new), tree.root(old), tree.root(new)
        )
