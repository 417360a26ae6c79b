"""Speech to text with faster-whisper: Mandarin, VAD-gated, word timestamps."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from transcribe.errors import ModelError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class AsrOptions:
    """Decoding settings; the speed benchmark hands the same ones to bare faster-whisper."""

    language: str = "zh"
    beam_size: int = 5
    vad_filter: bool = True
    vad_min_silence_duration_ms: int = 500
    # Conditioning on earlier text makes Whisper drop everything after the first sentence
    # on short counter turns, so every window is decoded on its own.
    condition_on_previous_text: bool = False
    word_timestamps: bool = True
    #: Text the decoder sees as if said before; steers script and vocabulary.
    initial_prompt: str | None = None

    def transcribe_kwargs(self) -> dict:
        return dict(
            initial_prompt=self.initial_prompt,
            language=self.language,
            beam_size=self.beam_size,
            vad_filter=self.vad_filter,
            vad_parameters={"min_silence_duration_ms": self.vad_min_silence_duration_ms},
            condition_on_previous_text=self.condition_on_previous_text,
            word_timestamps=self.word_timestamps,
        )


@dataclass
class Transcriber:
    """Holds one loaded Whisper model; :meth:`transcribe` streams segments."""

    model_path: str
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    options: AsrOptions = field(default_factory=AsrOptions)

    def __post_init__(self) -> None:
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(self.model_path, device=self.device,
                                       compute_type=self.compute_type,
                                       cpu_threads=self.cpu_threads, local_files_only=True)
        except Exception as e:  # faster-whisper raises many types (OSError, RuntimeError, hub errors)
            raise ModelError(self.model_path, f"cannot load ({e.__class__.__name__}: {e})") from e

    def transcribe(self, samples: np.ndarray) -> Iterator[AsrSegment]:
        """Yield segments of 16 kHz mono ``samples`` as the decoder produces them."""
        segments, _info = self._model.transcribe(samples, **self.options.transcribe_kwargs())
        for s in segments:
            words = tuple(Word(w.start, w.end, w.word, w.probability) for w in (s.words or ()))
            yield AsrSegment(s.start, s.end, s.text, words, s.avg_logprob, s.no_speech_prob)
