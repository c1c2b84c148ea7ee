"""Merkle tree hashing, inclusion and consistency proofs as RFC 9162 section 2.1 defines them.

Written on ``hashlib`` alone (issue #8 asks for it: the algorithms are short, and an auditor can
read them here beside the RFC). Hashes are raw 32-byte SHA-256 digests throughout.

- Leaf hash ``SHA-256(0x00 || leaf)`` and node hash ``SHA-256(0x01 || left || right)``
  (RFC 9162 section 2.1.1). The different prefixes are what stop an interior node being passed
  off as a leaf (a second-preimage attack).
- :class:`RootBuilder` folds leaf hashes into the root in O(log n) memory, for the verifier that
  streams a million-line export.
- :class:`MerkleTree` keeps every level in memory to answer proofs, for the exporter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from itertools import repeat

HASH_SIZE = 32

#: RFC 9162 section 2.1.1: the hash of an empty list is the hash of an empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

_sha256 = hashlib.sha256
_digest = type(_sha256()).digest


class MerkleProofError(ValueError):
    """A proof that does not hold, or that is malformed for the sizes it claims."""


def leaf_hash(leaf: bytes) -> bytes:
    """``MTH({d(0)}) = SHA-256(0x00 || d(0))`` (RFC 9162 section 2.1.1)."""
    return _sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` (RFC 9162 section 2.1.1)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 section 2.1.1: the largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class RootBuilder:
    """Streaming tree head: append leaf hashes, read the root at any size.

    Keeps the compact range (one hash per set bit of the size), so memory is O(log n). The root
    of a size that is not a power of two is the right-to-left fold of those perfect subtrees,
    which is the same tree RFC 9162's "largest power of two smaller than n" split describes.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, leaf_hash_: bytes) -> None:
        """Append one leaf's hash (already ``leaf_hash``-ed)."""
        stack = self._stack
        stack.append(leaf_hash_)
        self.size += 1
        size = self.size
        # Each trailing zero bit of the new size is one pair of equal perfect subtrees to merge.
        while not size & 1:
            right = stack.pop()
            stack[-1] = _sha256(_NODE_PREFIX + stack[-1] + right).digest()
            size >>= 1

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append many leaf hashes at once: the same tree as :meth:`append` on each in turn.

        Folds level by level, each level's pairs hashed in one C-level ``map``, instead of one
        interpreted loop a leaf (the verifier's block path appends thousands at a time).
        """
        stack, size = self._stack, self.size
        nodes = list(leaf_hashes)
        self.size = size + len(nodes)
        # ``nodes`` are the complete subtrees of 2**level leaves that start at index ``pos``
        # (counted in such subtrees); ``leftovers`` those left without a right sibling.
        pos, leftovers = size, []
        while nodes:
            if pos & 1:
                # nodes[0] is a right child: its left sibling is the compact range's smallest
                # subtree, which is of this level (the set bits of ``size`` say so).
                nodes = [stack.pop(), *nodes]
                pos -= 1
            if len(nodes) & 1:
                leftovers.append(nodes.pop())
            pairs = zip(repeat(_NODE_PREFIX), nodes[0::2], nodes[1::2])
            nodes = list(map(_digest, map(_sha256, map(b"".join, pairs))))
            pos >>= 1
        # Larger subtrees sit deeper in the compact range: the last leftover is the largest.
        stack.extend(reversed(leftovers))

    def append_leaf(self, leaf: bytes) -> bytes:
        """Hash ``leaf`` as a leaf, append it and return its leaf hash."""
        hashed = _sha256(_LEAF_PREFIX + leaf).digest()
        self.append(hashed)
        return hashed

    def root(self) -> bytes:
        """The root hash of the leaves appended so far."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        result = stack[-1]
        for left in reversed(stack[:-1]):
            result = _sha256(_NODE_PREFIX + left + result).digest()
        return result


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """The root of the tree whose leaves have these hashes."""
    builder = RootBuilder()
    for hashed in leaf_hashes:
        builder.append(hashed)
    return builder.root()


class MerkleTree:
    """Every level of the tree in memory (64 bytes a leaf), to answer proofs at any size.

    ``levels[j]`` holds the hashes of the aligned perfect subtrees of 2**j leaves, packed 32 bytes
    apart in one ``bytearray`` so that a million-leaf tree is two 32 MB buffers, not two million
    Python objects.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        for hashed in leaf_hashes:
            self.append(hashed)

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf_hash_: bytes) -> None:
        """Append one leaf hash and every perfect subtree it completes."""
        if len(leaf_hash_) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        levels = self._levels
        levels[0] += leaf_hash_
        level, hashed = 0, leaf_hash_
        while len(levels[level]) // HASH_SIZE % 2 == 0:
            left = bytes(levels[level][-2 * HASH_SIZE : -HASH_SIZE])
            hashed = node_hash(left, hashed)
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += hashed

    def leaf_hash_at(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        return self._node(0, index)

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def subtree_hash(self, start: int, end: int) -> bytes:
        """``MTH(D[start:end])`` for ``0 <= start < end <= size``."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"no subtree [{start}, {end}) in a tree of {self.size}")
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self._node(width.bit_length() - 1, start // width)
        k = _largest_power_of_two_below(width)
        return node_hash(self.subtree_hash(start, start + k), self.subtree_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The root hash at ``size`` leaves (default: all of them)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is outside 0..{self.size}")
        return EMPTY_ROOT if size == 0 else self.subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """``PATH(index, D[0:size])`` (RFC 9162 section 2.1.3.1), deepest sibling first."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of {size}")
        path: list[bytes] = []
        start, end = 0, size
        # Walk down from the root, remembering the sibling subtree at each split; the RFC's
        # recursion appends siblings on the way back up, so reverse at the end.
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if index < start + k:
                path.append(self.subtree_hash(start + k, end))
                end = start + k
            else:
                path.append(self.subtree_hash(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """``PROOF(old_size, D[0:new_size])`` (RFC 9162 section 2.1.4.1)."""
        new_size = self.size if new_size is None else new_size
        if not 0 <= old_size <= new_size <= self.size:
            raise ValueError(f"no consistency proof from {old_size} to {new_size}")
        if old_size == 0 or old_size == new_size:
            return []
        proof: list[bytes] = []
        m, start, end, whole = old_size, 0, new_size, True
        while True:
            n = end - start
            if m == n:
                # SUBPROOF(m, D[m], b): empty when b is true (the old tree is a node the
                # verifier already holds as its old root), else that node's hash.
                if not whole:
                    proof.append(self.subtree_hash(start, end))
                break
            k = _largest_power_of_two_below(n)
            if m <= k:
                proof.append(self.subtree_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree_hash(start, start + k))
                start += k
                m -= k
                whole = False
        proof.reverse()
        return proof


def root_from_inclusion_proof(
    leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Recompute the root from a leaf hash and its audit path (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        raise MerkleProofError(f"leaf index {index} is not inside a tree of {size}")
    fn, sn, result = index, size - 1, leaf_hash_
    for sibling in proof:
        if len(sibling) != HASH_SIZE:
            raise MerkleProofError("a proof hash is not 32 bytes")
        if sn == 0:
            raise MerkleProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError("the inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`MerkleProofError` unless ``proof`` puts leaf ``index`` under ``root``."""
    if root_from_inclusion_proof(leaf_hash_, index, size, proof) != root:
        raise MerkleProofError(f"the inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Raise :class:`MerkleProofError` unless the tree at ``new_size`` extends the one at
    ``old_size`` (RFC 9162 section 2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        raise MerkleProofError(f"a tree of {new_size} cannot extend one of {old_size}")
    if any(len(h) != HASH_SIZE for h in proof):
        raise MerkleProofError("a proof hash is not 32 bytes")
    if old_size == new_size:
        if proof:
            raise MerkleProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise MerkleProofError(f"two different roots for the same size {old_size}: a fork")
        return
    if old_size == 0:
        # Every tree extends the empty tree; RFC 9162 defines no proof for it.
        if proof:
            raise MerkleProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise MerkleProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MerkleProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError("the consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise MerkleProofError(f"the proof does not lead to the old root at size {old_size}")
    if sr != new_root:
        raise MerkleProofError(f"the proof does not lead to the new root at size {new_size}")
