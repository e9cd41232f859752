"""Hardening of Bloom-filter encodings: balancing, XOR-folding and diffusion.

All three act on packed filters (``uint64`` words, see :mod:`pplink.encode.bloom`); every random
choice they make (permutations, diffusion taps) is derived from a key, so all data holders of a
project make the same choice and nobody without the secret learns it. Salting is applied
earlier, at hashing time (:class:`pplink.encode.bloom.TokenHasher`).

* Balancing (Schnell & Borgs 2016): append the bit-wise complement and apply a keyed
  permutation; every filter then has exactly half of its bits set, which removes the
  Hamming-weight signal that frequency attacks use. Doubles the length; Dice still ranks pairs
  well because agreeing bits in both halves add up.
* XOR-folding (Schnell, Borgs & Encheva 2016): XOR the two halves; halves the length, each bit
  now depends on two positions, which breaks the link between a bit and a q-gram. Costs some
  precision (more accidental agreement).
* Diffusion (Armknecht, Heng & Schnell, PoPETs 2023): every output bit is the XOR of ``t``
  keyed-randomly chosen input bits. The similarity of two filters is kept approximately (an
  input bit difference flips on average ``l*t/m`` output bits), but no output bit reveals a
  q-gram, which defeats pattern-mining and graph-matching attacks as ``t`` grows (the papers
  report t >= 5 sufficient against the ACSAC 2024 graph attack). Costs some recall at the same
  threshold, since each differing input bit is amplified.

Example:
    >>> import numpy as np
    >>> f = np.array([[0b1011]], dtype=np.uint64)
    >>> b = balance(f, b"k" * 32, 64)
    >>> b.shape, int(np.unpackbits(b.view(np.uint8)).sum())
    ((1, 2), 64)
"""

from __future__ import annotations

import hashlib

import numba
import numpy as np

__all__ = ["keyed_uniform", "balance", "xor_fold", "diffusion_taps", "diffuse", "unpack", "pack"]


def keyed_uniform(key: bytes, count: int, label: str) -> np.ndarray:
    """``count`` pseudo-random uint64 values from a keyed PRF (BLAKE2b in counter mode).

    Example:
        >>> a = keyed_uniform(b"k" * 32, 5, "x")
        >>> a.dtype, len(a), bool((a == keyed_uniform(b"k" * 32, 5, "x")).all())
        (dtype('uint64'), 5, True)
    """
    out = bytearray()
    counter = 0
    person = hashlib.blake2b(label.encode(), digest_size=16).digest()
    while len(out) < 8 * count:
        out += hashlib.blake2b(counter.to_bytes(8, "little"), key=key[:64], person=person).digest()
        counter += 1
    return np.frombuffer(bytes(out[: 8 * count]), dtype="<u8").astype(np.uint64)


def unpack(filters: np.ndarray, bits: int) -> np.ndarray:
    """Packed ``(n, words)`` uint64 -> ``(n, bits)`` uint8 0/1 array."""
    as_bytes = np.ascontiguousarray(filters).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :bits]


def pack(bitarray: np.ndarray) -> np.ndarray:
    """``(n, bits)`` 0/1 array -> packed ``(n, ceil(bits/64))`` uint64."""
    n, bits = bitarray.shape
    words = (bits + 63) // 64
    padded = np.zeros((n, words * 64), dtype=np.uint8)
    padded[:, :bits] = bitarray
    return np.ascontiguousarray(np.packbits(padded, axis=1, bitorder="little")).view(np.uint64)


def balance(filters: np.ndarray, key: bytes, bits: int) -> np.ndarray:
    """Append the complement and apply a keyed permutation: ``2*bits`` bits, half of them set."""
    b = unpack(filters, bits)
    both = np.concatenate([b, 1 - b], axis=1)
    permutation = np.argsort(keyed_uniform(key, 2 * bits, "balance-permutation"), kind="stable")
    return pack(both[:, permutation])


def xor_fold(filters: np.ndarray) -> np.ndarray:
    """XOR the first and second half of every filter (word count must be even).

    Example:
        >>> import numpy as np
        >>> xor_fold(np.array([[3, 1]], dtype=np.uint64)).tolist()
        [[2]]
    """
    words = filters.shape[1]
    if words % 2:
        raise ValueError("xor_fold needs an even number of 64-bit words")
    half = words // 2
    return np.ascontiguousarray(filters[:, :half] ^ filters[:, half:])


def diffusion_taps(key: bytes, in_bits: int, out_bits: int, t: int) -> np.ndarray:
    """Keyed choice of ``t`` distinct input bits for each of ``out_bits`` output bits."""
    if t > in_bits:
        raise ValueError("diffusion t cannot exceed the filter length")
    draws = keyed_uniform(key, out_bits * t * 2 + 64, "diffusion-taps")
    taps = np.empty((out_bits, t), dtype=np.int64)
    pos = 0
    for j in range(out_bits):
        chosen: list[int] = []
        while len(chosen) < t:
            if pos >= len(draws):
                draws = np.concatenate([draws, keyed_uniform(key + bytes([j % 256]), out_bits * t, f"more-{pos}")])
            c = int(draws[pos] % np.uint64(in_bits))
            pos += 1
            if c not in chosen:
                chosen.append(c)
        taps[j] = chosen
    return taps


@numba.njit(cache=True, parallel=True)
def _diffuse(filters: np.ndarray, taps: np.ndarray, out_words: int) -> np.ndarray:
    n = filters.shape[0]
    out_bits, t = taps.shape
    out = np.zeros((n, out_words), dtype=np.uint64)
    one = np.uint64(1)
    for i in numba.prange(n):
        for j in range(out_bits):
            x = np.uint64(0)
            for s in range(t):
                p = taps[j, s]
                x ^= (filters[i, p >> 6] >> np.uint64(p & 63)) & one
            out[i, j >> 6] |= x << np.uint64(j & 63)
    return out


def diffuse(filters: np.ndarray, key: bytes, in_bits: int, t: int, out_bits: int = 0) -> np.ndarray:
    """Diffusion layer: output bit j = XOR of ``t`` keyed-chosen input bits.

    Example:
        >>> import numpy as np
        >>> f = np.zeros((1, 16), dtype=np.uint64)
        >>> bool(diffuse(f, b"k" * 32, 1024, 5).any())  # XOR of zeros stays zero
        False
    """
    out_bits = out_bits or in_bits
    taps = diffusion_taps(key, in_bits, out_bits, t)
    return _diffuse(np.ascontiguousarray(filters), taps, (out_bits + 63) // 64)
