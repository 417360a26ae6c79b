"""FLAC chunk encoding is lossless: bit-identical samples and the exact frame count back."""
from __future__ import annotations

import numpy as np
import pytest

from domain.flac import CodecError, decode_flac, encode_flac


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("frames", [1, 4607, 4608, 4609, 160000, 160003])
def test_round_trip_is_bit_identical(channels: int, frames: int) -> None:
    rng = np.random.default_rng(frames * channels)
    pcm = rng.normal(0, 4000, (frames, channels)).clip(-32768, 32767).astype(np.int16)
    out = decode_flac(encode_flac(pcm, 16000))
    assert out.dtype == np.int16
    assert out.shape == pcm.shape
    assert np.array_equal(out, pcm)


def test_full_scale_extremes_survive() -> None:
    pcm = np.array([[-32768, 32767], [32767, -32768], [0, -1]] * 1000, dtype=np.int16)
    assert np.array_equal(decode_flac(encode_flac(pcm, 16000)), pcm)


def test_real_speech_round_trip_and_compresses(speech_mono: np.ndarray, speech_stereo: np.ndarray) -> None:
    for pcm in (speech_mono[:160000], speech_stereo[:160000]):
        data = encode_flac(pcm, 16000)
        assert np.array_equal(decode_flac(data), pcm)
        assert len(data) < 0.7 * pcm.nbytes  # speech at least ~30 % smaller than raw PCM


def test_rejects_wrong_input() -> None:
    with pytest.raises(CodecError):
        encode_flac(np.zeros((10, 2), dtype=np.float32), 16000)
    with pytest.raises(CodecError):
        encode_flac(np.zeros((0, 1), dtype=np.int16), 16000)
    with pytest.raises(CodecError):
        encode_flac(np.zeros((10, 3), dtype=np.int16), 16000)
    with pytest.raises(CodecError):
        decode_flac(b"not flac at all")


def test_no_header_padding(speech_mono: np.ndarray) -> None:
    # libavformat would add 8 KiB of header padding per chunk; we switch it off.
    data = encode_flac(speech_mono[:16000], 16000)
    assert data.find(b"\x01\x00\x20\x00") == -1 and data.find(b"\x81\x00\x20\x00") == -1
    assert len(data) < 16000


def test_damaged_flac_fails_only_with_codec_error() -> None:
    """Issue 18: the API decodes every uploaded chunk, so any bytes must end in CodecError (422),
    never another exception (a 500): e.g. tags that are not UTF-8 once raised UnicodeDecodeError."""
    import random

    from domain.flac import probe_flac

    rng = random.Random(7)
    good = encode_flac(np.random.default_rng(7).integers(-3000, 3000, (8000, 2), dtype=np.int16), 16000)
    for _ in range(300):
        bad = bytearray(good)
        for _ in range(rng.randint(1, 12)):
            j = rng.randrange(min(len(bad), 200) if rng.random() < 0.5 else len(bad))
            bad[j] = rng.randrange(256)
        if rng.random() < 0.3:
            bad = bad[:rng.randrange(len(bad))]
        for decode in (lambda d: probe_flac(d, max_frames=8000), decode_flac):
            try:
                decode(bytes(bad))
            except CodecError:
                pass
