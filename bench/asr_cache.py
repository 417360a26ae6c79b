"""A disk cache in front of the speech model, for benchmarks that re-score the same audio.

Recognition is what costs (seconds per file); rules, speakers and the not-assessable check
take milliseconds. Rule authors re-run `bench/accuracy.py` many times over the same files, so
the recogniser's output is kept per (model, decoding options, exact samples) in
``bench/.cache/asr/``. A change to the audio, the model, any decoding option or the decoding
code (transcribe/asr.py: which speech regions are decoded) is a new key,
so a cached answer is always the one the model would give.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from transcribe import asr
from transcribe.asr import AsrSegment, Transcriber, Word


class CachedTranscriber:
    """Looks like :class:`transcribe.asr.Transcriber` (``transcribe``, ``options``)."""

    def __init__(self, inner: Transcriber, cache_dir: Path) -> None:
        self.inner = inner
        self.cache_dir = cache_dir
        self.hits = self.misses = 0

    @property
    def whisper_model(self):  # noqa: ANN201 - the wrapped transcriber's model (the verifier's)
        return self.inner.whisper_model

    @property
    def options(self):  # noqa: ANN201 - same object as the wrapped transcriber's
        return self.inner.options

    def _key(self, samples: np.ndarray) -> str:
        h = hashlib.sha256()
        h.update(str(Path(self.inner.model_path).resolve()).encode())
        h.update(json.dumps(dataclasses.asdict(self.inner.options), sort_keys=True, default=str).encode())
        h.update(Path(asr.__file__).read_bytes())   # how the decoders cut and decode the audio
        h.update(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
        return h.hexdigest()[:32]

    def transcribe(self, samples: np.ndarray) -> Iterator[AsrSegment]:
        path = self.cache_dir / f"{self._key(samples)}.json"
        if path.is_file():
            self.hits += 1
            for s in json.loads(path.read_text(encoding="utf-8")):
                yield AsrSegment(s["start_s"], s["end_s"], s["text"], tuple(Word(*w) for w in s["words"]),
                                 s["avg_logprob"], s["no_speech_prob"])
            return
        self.misses += 1
        segs = list(self.inner.transcribe(samples))
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"start_s": s.start_s, "end_s": s.end_s, "text": s.text,
                                    "words": [[w.start_s, w.end_s, w.text, w.probability] for w in s.words],
                                    "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob}
                                   for s in segs], ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        yield from segs
