"""RFC 9162 Merkle trees (section 2.1): hashes, proofs from stored subtrees, proof verification.

Hashing (RFC 9162 2.1.1), SHA-256 with one-byte domain separation between leaves and nodes::

    leaf_hash(d)       = SHA-256(0x00 || d)
    node_hash(l, r)    = SHA-256(0x01 || l || r)
    MTH({})            = SHA-256("")                                  (EMPTY_ROOT)
    MTH(D[n])          = node_hash(MTH(D[0:k]), MTH(D[k:n]))          k: largest power of 2 < n

Storage model. A log stores the hash of every *complete* subtree: the key ``(level, index)`` names
the perfect subtree of ``2**level`` leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0
holds the leaf hashes. Appending leaf ``n`` creates ``(0, n)`` and then one parent per trailing 1
bit of ``n`` (:func:`append_updates`); nothing stored ever changes afterwards. Every tree hash an
RFC 9162 root or proof needs is ``MTH(D[a:b])`` for a range whose start ``a`` is a multiple of a
power of two at least ``b - a``; such a range is the concatenation of at most ``log2 n`` complete
subtrees (the binary digits of ``b - a``, largest first), and its hash is theirs folded right to
left, exactly as MTH splits. So a root or proof of any size is O(log n) stored hashes, even when a
proof node is the root of an *incomplete* right subtree.

Each generator comes in two halves so that the caller can read storage in one query::

    keys = merkle.inclusion_proof_keys(index, size)      # which (level, index) rows are needed
    rows = store.get_many(keys)                          # one indexed query
    proof = merkle.inclusion_proof(index, size, rows)    # pure computation

``subtrees`` is either a mapping ``{(level, index): hash}`` or a callback ``get(level, index)``.
Whatever the lookup raises (``KeyError`` for a mapping without the key) propagates unchanged: a
missing complete subtree is a fault of the store, not of the input.

Verification follows the algorithms of RFC 9162 2.1.3.2 (inclusion) and 2.1.4.2 (consistency)
step by step; the step numbers in the code are the RFC's. A proof that does not prove its claim
raises :class:`ProofInvalid`; inputs of the wrong shape (hash lengths, negative or oversized
integers) raise :class:`MalformedInput`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence

from crypto.errors import MalformedInput, ProofInvalid

HASH_BYTES = 32
MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes and leaf indexes are uint64 in RFC 9162 and in checkpoints."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}), the root of the empty tree (RFC 9162 2.1.1)."""

SubtreeKey = tuple[int, int]
"""``(level, index)``: the complete subtree of leaves ``[index << level, (index + 1) << level)``."""

Subtrees = Callable[[int, int], bytes] | Mapping[SubtreeKey, bytes]
"""Where stored complete-subtree hashes are read from: ``get(level, index)`` or a mapping."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


# --- Hashing (RFC 9162 2.1.1) ------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(width: int) -> int:
    """The largest power of two smaller than ``width`` (``width >= 2``): MTH's k."""
    return 1 << ((width - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over ``leaf_hashes``, straight from the recursive definition (for small trees and tests).

    It shares no code with the storage-based functions below, so each checks the other.
    """

    def mth(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        k = _split(end - start)
        return node_hash(mth(start, start + k), mth(start + k, end))

    return mth(0, len(leaf_hashes)) if leaf_hashes else EMPTY_ROOT


# --- Input checks --------------------------------------------------------------------------------


def _check_int(value: object, what: str, *, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedInput(f"{what} must be an integer")
    if not minimum <= value <= MAX_TREE_SIZE:
        raise MalformedInput(f"{what} {value} is outside [{minimum}, 2**64 - 1]")
    return value


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise MalformedInput(f"{what} must be bytes")
    if len(value) != HASH_BYTES:
        raise MalformedInput(f"{what} is {len(value)} bytes, not {HASH_BYTES}")
    return value


def _check_proof(proof: Sequence[bytes]) -> list[bytes]:
    if isinstance(proof, bytes | str) or not isinstance(proof, Sequence):
        raise MalformedInput("a proof must be a sequence of hashes")
    # RFC 9162 bounds proofs by ceil(log2 n) + 1 hashes: at most 65 for a uint64 size.
    if len(proof) > 65:
        raise MalformedInput(f"a proof of {len(proof)} hashes is longer than any tree needs")
    return [_check_hash(item, f"proof hash {i}") for i, item in enumerate(proof)]


# --- Complete subtrees -------------------------------------------------------------------------


def _range_keys(start: int, end: int) -> list[SubtreeKey]:
    """The complete subtrees that make up ``[start, end)``, left to right (``start`` aligned)."""
    keys: list[SubtreeKey] = []
    position = start
    for level in reversed(range((end - start).bit_length())):
        if (end - start) >> level & 1:
            keys.append((level, position >> level))
            position += 1 << level
    return keys


def _lookup(subtrees: Subtrees, key: SubtreeKey) -> bytes:
    value = subtrees[key] if isinstance(subtrees, Mapping) else subtrees(*key)
    if not isinstance(value, bytes) or len(value) != HASH_BYTES:
        raise MalformedInput(f"stored subtree {key} is not a {HASH_BYTES}-byte hash")
    return value


def _range_hash(start: int, end: int, subtrees: Subtrees) -> bytes:
    """MTH(D[start:end]) from its complete subtrees, folded right to left as MTH splits."""
    keys = _range_keys(start, end)
    value = _lookup(subtrees, keys[-1])
    for key in reversed(keys[:-1]):
        value = node_hash(_lookup(subtrees, key), value)
    return value


def _keys_of(ranges: list[tuple[int, int]]) -> list[SubtreeKey]:
    return [key for start, end in ranges for key in _range_keys(start, end)]


def subtree_keys_for_root(size: int) -> list[SubtreeKey]:
    """The complete subtrees whose hashes make up the root of the first ``size`` leaves.

    Raises:
        MalformedInput: ``size`` is not an integer in [0, 2**64 - 1].
    """
    return _range_keys(0, _check_int(size, "tree size"))


def root_from_subtrees(size: int, subtrees: Subtrees) -> bytes:
    """MTH(D[0:size]) from at most log2(size) + 1 stored complete subtrees.

    Raises:
        MalformedInput: ``size`` out of range, or a stored hash that is not 32 bytes.
    """
    if _check_int(size, "tree size") == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, subtrees)


def append_update_keys(index: int) -> list[SubtreeKey]:
    """The stored subtrees :func:`append_updates` reads when leaf ``index`` is appended.

    They are the left siblings completed by the new leaf, one per trailing 1 bit of ``index``.
    """
    _check_int(index, "leaf index", minimum=0)
    keys: list[SubtreeKey] = []
    level = 0
    while index >> level & 1:
        keys.append((level, (index >> level) - 1))
        level += 1
    return keys


def append_updates(index: int, leaf: bytes, subtrees: Subtrees) -> list[tuple[int, int, bytes]]:
    """The complete subtrees created by appending leaf hash ``leaf`` as leaf number ``index``.

    Returns ``(level, index, hash)`` rows to store: ``(0, index, leaf)`` first, then each parent
    the new leaf completes, bottom up. ``index`` must be the current tree size (leaves are
    appended in order) and ``subtrees`` must hold every complete subtree of the current tree.

    Raises:
        MalformedInput: ``index`` out of range, ``leaf`` not 32 bytes, a stored hash not 32 bytes.
    """
    _check_int(index, "leaf index", minimum=0)
    value = _check_hash(leaf, "leaf hash")
    rows = [(0, index, value)]
    for level, left in append_update_keys(index):
        value = node_hash(_lookup(subtrees, (level, left)), value)
        rows.append((level + 1, (left + 1) >> 1, value))
    return rows


def complete_subtrees(leaf_hashes: Sequence[bytes]) -> dict[SubtreeKey, bytes]:
    """Every complete subtree of a tree built in memory by appending ``leaf_hashes`` in order."""
    stored: dict[SubtreeKey, bytes] = {}
    for index, leaf in enumerate(leaf_hashes):
        for level, position, value in append_updates(index, leaf, stored):
            stored[(level, position)] = value
    return stored


# --- Proof generation (RFC 9162 2.1.3.1 and 2.1.4.1) -------------------------------------------


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[size]) as leaf ranges, leaf side first.

    PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])        if m < k
                  = PATH(m - k, D[k:n]) : MTH(D[0:k])    otherwise
    """
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """PROOF(old_size, D[new_size]) = SUBPROOF(old_size, D[new_size], true) as leaf ranges.

    SUBPROOF(m, D[m], true)  = {}
    SUBPROOF(m, D[m], false) = {MTH(D[m])}
    SUBPROOF(m, D[n], b)     = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
                             = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  otherwise
    """
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, new_size, True
    while old_size != end:  # invariant: start < old_size <= end
        k = _split(end - start)
        if old_size - start <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, whole = start + k, False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _check_inclusion_args(index: int, size: int) -> None:
    _check_int(size, "tree size")
    if not 0 <= _check_int(index, "leaf index") < size:
        raise MalformedInput(f"leaf index {index} is not in a tree of size {size}")


def _check_consistency_args(old_size: int, new_size: int) -> None:
    _check_int(old_size, "old tree size")
    _check_int(new_size, "new tree size")
    if not 0 < old_size <= new_size:
        raise MalformedInput(f"no consistency proof from size {old_size} to size {new_size}")


def inclusion_proof_keys(index: int, size: int) -> list[SubtreeKey]:
    """The stored subtrees :func:`inclusion_proof` reads for ``index`` in a tree of ``size``.

    Raises:
        MalformedInput: not ``0 <= index < size <= 2**64 - 1``.
    """
    _check_inclusion_args(index, size)
    return _keys_of(_inclusion_ranges(index, size))


def inclusion_proof(index: int, size: int, subtrees: Subtrees) -> list[bytes]:
    """The RFC 9162 2.1.3.1 inclusion proof (audit path) of leaf ``index`` in the first ``size``.

    Raises:
        MalformedInput: not ``0 <= index < size <= 2**64 - 1``, or a stored hash not 32 bytes.
    """
    _check_inclusion_args(index, size)
    return [_range_hash(a, b, subtrees) for a, b in _inclusion_ranges(index, size)]


def consistency_proof_keys(old_size: int, new_size: int) -> list[SubtreeKey]:
    """The stored subtrees :func:`consistency_proof` reads.

    Raises:
        MalformedInput: not ``0 < old_size <= new_size <= 2**64 - 1``.
    """
    _check_consistency_args(old_size, new_size)
    return _keys_of(_consistency_ranges(old_size, new_size))


def consistency_proof(old_size: int, new_size: int, subtrees: Subtrees) -> list[bytes]:
    """The RFC 9162 2.1.4.1 consistency proof from the first ``old_size`` leaves to ``new_size``.

    Empty when the sizes are equal. There is none from size 0: every tree extends the empty one.

    Raises:
        MalformedInput: not ``0 < old_size <= new_size <= 2**64 - 1``, or a stored hash not 32
            bytes.
    """
    _check_consistency_args(old_size, new_size)
    return [_range_hash(a, b, subtrees) for a, b in _consistency_ranges(old_size, new_size)]


# --- Proof verification (RFC 9162 2.1.3.2 and 2.1.4.2) -----------------------------------------


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` leads to from ``leaf_hash`` at ``index``: RFC 9162 2.1.3.2 steps 1-4.

    Also checks the first half of step 5 (``sn`` is 0: the proof has the length the tree needs);
    the caller compares the returned root with a trusted one (:func:`verify_inclusion` does).

    Raises:
        MalformedInput: hashes not 32 bytes, integers out of range, more than 65 proof hashes.
        ProofInvalid: ``index >= size`` (step 1), or a proof of the wrong length (steps 4a, 5).
    """
    _check_hash(leaf_hash, "leaf hash")
    _check_int(index, "leaf index")
    _check_int(size, "tree size")
    path = _check_proof(proof)
    # 1. leaf_index >= tree_size fails the verification.
    if index >= size:
        raise ProofInvalid(f"leaf index {index} is not below tree size {size}")
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn, sn = index, size - 1
    # 3. r = hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path:
    for p in path:
        # 4a. sn == 0 before the path is used up: too many hashes.
        if sn == 0:
            raise ProofInvalid(f"inclusion proof is longer than a tree of size {size} needs")
        # 4b. p is a left sibling when LSB(fn) is set or fn == sn, else a right sibling.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # 4b.ii. skip the levels where this node has no right sibling.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        # 4c. one level up.
        fn >>= 1
        sn >>= 1
    # 5 (first half). sn must be 0: the path reached the root.
    if sn != 0:
        raise ProofInvalid(f"inclusion proof is shorter than a tree of size {size} needs")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 2.1.3.2: steps 1-4 and the ``sn`` check of step 5 in
    :func:`root_from_inclusion_proof`, then the rest of step 5, the root comparison.

    The proof binds the leaf and its index to ``root``, but not ``size``: leaf 5's path is the
    same in trees of 7 and 8 leaves. Take ``size`` and ``root`` from the same signed checkpoint.

    Raises:
        MalformedInput: hashes not 32 bytes, integers out of range, more than 65 proof hashes.
        ProofInvalid: the proof does not lead from the leaf to ``root``.
    """
    _check_hash(root, "root")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    # 5. r must equal root_hash.
    if not hmac.compare_digest(computed, root):
        raise ProofInvalid(f"inclusion proof for leaf {index} does not lead to the root of {size}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``.

    RFC 9162 2.1.4.2 defines the algorithm for ``0 < first < second``; the other cases are decided
    first, as the transparency-dev/merkle verifier (whose vectors the tests run) does:

    * ``old_size > new_size``: refused, a tree never shrinks;
    * ``old_size == 0``: refused as meaningless (every tree extends the empty one; a witness with
      no previous checkpoint has nothing to check);
    * ``old_size == new_size``: the proof must be empty and the roots equal.

    Raises:
        MalformedInput: roots or proof hashes not 32 bytes, integers out of range, ``old_size`` 0.
        ProofInvalid: a smaller new tree, equal sizes with different roots or a non-empty proof,
            or a proof that does not lead to both roots (a fork).
    """
    _check_int(old_size, "old tree size")
    _check_int(new_size, "new tree size")
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    path = _check_proof(proof)
    if old_size > new_size:
        raise ProofInvalid(f"tree size went down from {old_size} to {new_size}")
    if old_size == 0:
        raise MalformedInput("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if path:
            raise ProofInvalid("a consistency proof between equal sizes must be empty")
        if not hmac.compare_digest(old_root, new_root):
            raise ProofInvalid(f"two different roots for the same tree size {old_size}")
        return
    # 1. An empty consistency_path fails.
    if not path:
        raise ProofInvalid(f"empty consistency proof from size {old_size} to {new_size}")
    # 2. If first is an exact power of 2, prepend first_hash to the path.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. While LSB(fn) is set, right-shift fn and sn.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c of the path:
    for c in path[1:]:
        # 6a. sn == 0 before the path is used up: too many hashes.
        if sn == 0:
            raise ProofInvalid(f"consistency proof is longer than {old_size} -> {new_size} needs")
        if fn & 1 or fn == sn:
            # 6b. c is a left sibling in both trees.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # 6c. c is a right sibling that only the new tree has.
            sr = node_hash(sr, c)
        # 6d. one level up.
        fn >>= 1
        sn >>= 1
    # 7. sn must be 0, fr must equal first_hash and sr second_hash.
    if sn != 0:
        raise ProofInvalid(f"consistency proof is shorter than {old_size} -> {new_size} needs")
    if not hmac.compare_digest(fr, old_root):
        raise ProofInvalid(f"consistency proof does not lead to the root of size {old_size}")
    if not hmac.compare_digest(sr, new_root):
        raise ProofInvalid(f"consistency proof does not lead to the root of size {new_size}")
