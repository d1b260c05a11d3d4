"""A real Bloom filter, to check the membership-testing bound against an actual data structure.

A standard Bloom filter with ``m`` bits, ``n`` keys and ``k`` hash functions has false-positive
rate ``≈ (1 − e^(−kn/m))^k``, smallest at ``k = (m/n)·ln 2`` where it is ``≈ 2^(−(m/n)·ln 2)``.
The bound says ``log2(1/ε)`` bits per key suffice for false-positive rate ``ε`` (no false
negatives), i.e. ``ε = 2^(−bits per key)``. A standard Bloom filter therefore needs
``1/ln 2 ≈ 1.44×`` the bound's space for the same rate: the known gap, closed only by other
structures (compressed Bloom filters, cuckoo/xor/ribbon filters, which come within a few
percent).

Hashing: one BLAKE2b digest per key (``hashlib``) gives two 64-bit halves ``h1, h2``; the
``k`` positions are ``h1 + i·h2 mod m`` (Kirsch–Mitzenmacher double hashing, which keeps
the standard false-positive rate asymptotically).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import numpy as np

from nescio.types import NescioError

__all__ = ["BloomFilter", "BloomCheck", "predicted_false_positive_rate", "optimal_num_hashes", "check_bloom_filter"]


def optimal_num_hashes(bits_per_key: float) -> int:
    """The integer ``k`` nearest ``(m/n)·ln 2`` (at least 1)."""
    return max(1, round(bits_per_key * math.log(2)))


def predicted_false_positive_rate(bits_per_key: float, num_hashes: int) -> float:
    """The standard prediction ``(1 − e^(−k·n/m))^k`` with ``m/n = bits_per_key``."""
    return (1.0 - math.exp(-num_hashes / bits_per_key)) ** num_hashes


def _hash_pairs(keys: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    digests = b"".join(hashlib.blake2b(key, digest_size=16).digest() for key in keys)
    halves = np.frombuffer(digests, dtype="<u8").reshape(-1, 2)
    return halves[:, 0], halves[:, 1] | np.uint64(1)  # odd step: all k positions distinct mod 2^j


class BloomFilter:
    """A bit array of ``num_bits`` bits probed by ``num_hashes`` positions per key.

    ``add(keys)`` sets bits, ``contains(keys)`` returns a boolean array; keys are bytes.
    """

    def __init__(self, num_bits: int, num_hashes: int) -> None:
        if num_bits < 1 or num_hashes < 1:
            raise NescioError(f"a Bloom filter needs num_bits >= 1 and num_hashes >= 1, got {num_bits}, {num_hashes}")
        self.num_bits = int(num_bits)
        self.num_hashes = int(num_hashes)
        self.bits_ = np.zeros(self.num_bits, dtype=bool)

    def _positions(self, keys: list[bytes]) -> np.ndarray:
        h1, h2 = _hash_pairs(keys)
        i = np.arange(self.num_hashes, dtype=np.uint64)
        with np.errstate(over="ignore"):  # uint64 wrap-around is the intended arithmetic
            combined = h1[:, None] + i[None, :] * h2[:, None]
        return (combined % np.uint64(self.num_bits)).astype(np.int64)

    def add(self, keys: list[bytes]) -> "BloomFilter":
        self.bits_[self._positions(keys).ravel()] = True
        return self

    def contains(self, keys: list[bytes]) -> np.ndarray:
        return self.bits_[self._positions(keys)].all(axis=1)


@dataclass(frozen=True)
class BloomCheck:
    """One measured Bloom filter against its prediction and the bound.

    ``bits_per_key`` = m/n; ``fpr_measured`` on ``num_queries`` non-members; ``fpr_std`` its
    binomial standard error at the prediction; ``z`` = (measured − predicted)/std;
    ``fpr_bound`` = 2^(−bits per key), the best any structure can do at this space;
    ``bits_bound_needs`` = log2(1/fpr_measured), the bound's space for the measured rate;
    ``space_ratio`` = bits_per_key / bits_bound_needs (≈ 1/ln 2 ≈ 1.44 at optimal k).
    ``false_negatives`` must be 0.
    """

    bits_per_key: float
    num_keys: int
    num_hashes: int
    num_queries: int
    fpr_measured: float
    fpr_predicted: float
    fpr_std: float
    z: float
    fpr_bound: float
    bits_bound_needs: float
    space_ratio: float
    false_negatives: int

    def to_dict(self) -> dict:
        return asdict(self)


def check_bloom_filter(
    bits_per_key: float, *, num_keys: int = 20_000, num_queries: int = 200_000, seed: int = 0
) -> BloomCheck:
    """Build a filter over ``num_keys`` random keys at ``bits_per_key`` with optimal ``k``; measure its FPR."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 2**63, size=num_keys + num_queries, dtype=np.int64)
    raw = np.unique(raw)  # members and non-members must differ
    if len(raw) < num_keys + num_queries // 2:
        raise NescioError("too few distinct random keys")
    perm = rng.permutation(len(raw))
    members = [int(v).to_bytes(8, "little") for v in raw[perm[:num_keys]]]
    queries = [int(v).to_bytes(8, "little") for v in raw[perm[num_keys:]]]
    k = optimal_num_hashes(bits_per_key)
    bloom = BloomFilter(num_bits=round(bits_per_key * num_keys), num_hashes=k).add(members)
    false_negatives = int((~bloom.contains(members)).sum())
    fpr = float(bloom.contains(queries).mean())
    predicted = predicted_false_positive_rate(bits_per_key, k)
    std = math.sqrt(predicted * (1 - predicted) / len(queries))
    bits_needed = -math.log2(fpr) if fpr > 0 else math.inf
    return BloomCheck(
        bits_per_key=float(bits_per_key),
        num_keys=num_keys,
        num_hashes=k,
        num_queries=len(queries),
        fpr_measured=fpr,
        fpr_predicted=predicted,
        fpr_std=std,
        z=(fpr - predicted) / std,
        fpr_bound=2.0 ** (-bits_per_key),
        bits_bound_needs=bits_needed,
        space_ratio=bits_per_key / bits_needed if bits_needed > 0 else math.inf,
        false_negatives=false_negatives,
    )
