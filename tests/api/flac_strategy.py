"""A hypothesis strategy for FLAC request bodies (issue 18): valid chunks of 1-2 channels of
16-bit audio at 16 kHz, and the same corrupted the ways an attacker or a broken disk would:
cut short, a STREAMINFO that lies about the sample count, a flipped byte, the magic alone,
noise after the magic, nothing at all."""
from __future__ import annotations

import struct

import numpy as np
from hypothesis import strategies as st

from domain.flac import encode_flac

RATE = 16000
#: Offset of STREAMINFO's low 32 bits of the total sample count: "fLaC" (4), the block header
#: (4), block sizes (4), frame sizes (6), then rate/channels/bits/high count bits (4).
TOTAL_SAMPLES_LOW = 4 + 4 + 4 + 6 + 4


def _encode(channels: int, frames: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / RATE
    tone = (3000 * np.sin(2 * np.pi * (200 + seed % 800) * t)).astype(np.int16)
    noise = rng.integers(-300, 300, size=(frames, channels), dtype=np.int16)
    pcm = (tone[:, None] + noise).astype(np.int16)
    return encode_flac(pcm, RATE)


def valid_flac() -> st.SearchStrategy[bytes]:
    return st.builds(_encode, channels=st.sampled_from([1, 2]), frames=st.integers(1, 6000),
                     seed=st.integers(0, 2**16))


def _lying_header(data: bytes, delta: int) -> bytes:
    (low,) = struct.unpack(">I", data[TOTAL_SAMPLES_LOW:TOTAL_SAMPLES_LOW + 4])
    return data[:TOTAL_SAMPLES_LOW] + struct.pack(">I", (low + delta) % 2**32) + data[TOTAL_SAMPLES_LOW + 4:]


def _corrupt(data: bytes) -> st.SearchStrategy[bytes]:
    n = len(data)
    return st.one_of(
        st.integers(0, max(0, n - 1)).map(lambda k: data[:k]),                                    # cut short
        st.integers(1, 20000).map(lambda d: _lying_header(data, d)),                             # header lies
        st.tuples(st.integers(0, n - 1), st.integers(1, 255)).map(
            lambda p: data[:p[0]] + bytes([data[p[0]] ^ p[1]]) + data[p[0] + 1:]),                  # a flipped byte
        st.just(b"fLaC"),
        st.binary(min_size=0, max_size=2000).map(lambda b: b"fLaC" + b),
        st.just(b""),
    )


def flac_bodies() -> st.SearchStrategy[bytes]:
    """Valid FLAC, or valid FLAC corrupted (:func:`_corrupt`), about half and half."""
    return st.one_of(valid_flac(), valid_flac().flatmap(_corrupt))
