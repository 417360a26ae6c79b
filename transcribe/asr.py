"""Speech to text with faster-whisper: Mandarin, VAD-gated, word timestamps.

Two decoders behind one :class:`Transcriber`, both decoding the same speech regions
(:func:`speech_regions`):

* batched (``AsrOptions.batch_size`` > 0, the default): faster-whisper's
  ``BatchedInferencePipeline``. VAD packs the speech into windows of up to 30 s and
  ``batch_size`` windows go through the model together, each decoded once. Several recordings
  can share one pass (:meth:`Transcriber.transcribe_many`): the worker hands it a batch of
  interactions, so that short interactions fill batches as one long recording would. Speech
  after a window's last decoded word (the decoder ended early) is decoded again.
* sequential (``batch_size`` = 0): ``WhisperModel.transcribe``, window after window, seeking
  to the last complete timestamp and re-decoding with a higher temperature when a window's
  text looks wrong (slower on long, silence-heavy audio; issue 12 has the figures).
"""
from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from transcribe.errors import DeviceError, ModelError

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
#: Longest window the model hears at once (Whisper's input).
WINDOW_S = 30.0
#: Speech after a window's last decoded word is decoded again (this many times) when it lasts
#: at least RETRY_MIN_S.
RETRIES = 1
RETRY_MIN_S = 1.0
DEVICES = ("cpu", "cuda", "auto")


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
    """Decoding settings; the speed benchmarks hand the same ones to bare faster-whisper."""

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
    #: Speech windows (up to 30 s each) decoded together by the batched pipeline; 0: the
    #: sequential decoder.
    batch_size: int = 8
    #: Batched: decode Whisper's timestamp tokens too, so that each window comes back cut into
    #: the decoder's own segments, punctuated as the sequential decoder's. Without them (the
    #: library's default; faster) a window is one piece of text, cut into sentences here
    #: (:func:`sentences`), often unpunctuated, and mono speaker attribution, which reads
    #: clauses, lost flags on the corpus's noisy mono files (docs/benchmarks.md).
    timestamps: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 0:
            raise ValueError(f"batch_size must be 0 (sequential) or more, got {self.batch_size}")

    def transcribe_kwargs(self) -> dict:
        """Arguments of the sequential ``WhisperModel.transcribe``."""
        return dict(
            initial_prompt=self.initial_prompt,
            language=self.language,
            beam_size=self.beam_size,
            vad_filter=self.vad_filter,
            vad_parameters={"min_silence_duration_ms": self.vad_min_silence_duration_ms},
            condition_on_previous_text=self.condition_on_previous_text,
            word_timestamps=self.word_timestamps,
        )

    def batched_kwargs(self) -> dict:
        """Arguments of ``BatchedInferencePipeline.transcribe``: the same decoding settings."""
        return dict(self.transcribe_kwargs(), batch_size=max(self.batch_size, 1),
                    without_timestamps=not self.timestamps)


def check_device(device: str, compute_type: str) -> str:
    """The device the model will run on (``auto``: CUDA when CTranslate2 sees a GPU, else CPU).

    Raises:
        DeviceError: an unknown device, ``cuda`` without a usable CUDA device, or a compute type
            that the device does not support (the message names the supported ones).
    """
    import ctranslate2

    if device not in DEVICES:
        raise DeviceError(device, f"unknown device; use one of {', '.join(DEVICES)}")
    gpus = ctranslate2.get_cuda_device_count() if device in ("cuda", "auto") else 0
    if device == "cuda" and gpus == 0:
        raise DeviceError(device, "no CUDA device found (CTranslate2 sees 0 GPUs: no NVIDIA driver, or no GPU "
                                  "in this machine); use --device cpu")
    resolved = "cuda" if gpus else "cpu"
    try:
        supported = set(ctranslate2.get_supported_compute_types(resolved))
    except RuntimeError as e:   # a CUDA runtime that does not match the driver
        raise DeviceError(device, f"CUDA is not usable: {e}") from e
    if compute_type not in supported | {"default", "auto"}:
        raise DeviceError(resolved, f"compute type {compute_type!r} is not supported here "
                                    f"(supported: {', '.join(sorted(supported))})")
    return resolved


def _thread_ids() -> frozenset[int]:
    try:
        return frozenset(int(t) for t in os.listdir("/proc/self/task"))
    except OSError:         # not Linux
        return frozenset()


@dataclass
class Transcriber:
    """Holds one loaded Whisper model; :meth:`transcribe` streams segments."""

    model_path: str
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    options: AsrOptions = field(default_factory=AsrOptions)

    def __post_init__(self) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        #: where the model runs ("cpu" or "cuda"; ``device`` may say "auto")
        self.resolved_device = check_device(self.device, self.compute_type)
        before = _thread_ids()
        try:
            self._model = WhisperModel(self.model_path, device=self.resolved_device,
                                       compute_type=self.compute_type,
                                       cpu_threads=self.cpu_threads, local_files_only=True)
        except Exception as e:  # faster-whisper raises many types (OSError, RuntimeError, hub errors)
            raise ModelError(self.model_path, f"cannot load ({e.__class__.__name__}: {e})") from e
        #: the threads the model started as it loaded (its compute pool): a worker lowers their
        #: priority with its own (transcribe.priority)
        self.threads = _thread_ids() - before
        self._pipeline = BatchedInferencePipeline(self._model) if self.options.batch_size else None
        logger.info("asr: model on %s (%s), %s", self.resolved_device, self.compute_type,
                    f"batched, {self.options.batch_size} windows per batch" if self._pipeline else "sequential")

    @property
    def whisper_model(self):  # noqa: ANN201 - faster_whisper.WhisperModel
        """The loaded model, which also verifies the rulebook's candidates (transcribe.verify)."""
        return self._model

    def transcribe(self, samples: np.ndarray) -> Iterator[AsrSegment]:
        """Yield segments of 16 kHz mono ``samples`` as the decoder produces them."""
        if self._pipeline is None:
            yield from self._sequential(samples)
        else:
            yield from self._batched([samples])[0]

    def _sequential(self, samples: np.ndarray) -> Iterator[AsrSegment]:
        """``WhisperModel.transcribe`` on the speech regions of :func:`speech_regions` butted
        together (as faster-whisper's own VAD filter does, with the batched decoder's regions),
        times mapped back to the recording's."""
        kwargs = dict(self.options.transcribe_kwargs(), vad_filter=False)
        kwargs.pop("vad_parameters")
        if not self.options.vad_filter:
            segments, _info = self._model.transcribe(samples, **kwargs)
            yield from (_segment(s) for s in segments)
            return
        from faster_whisper.transcribe import restore_speech_timestamps

        chunks = [{"start": g.start, "end": g.end}
                  for g in speech_regions(samples, recording=0, min_silence_ms=self.options.vad_min_silence_duration_ms)]
        if not chunks:
            return
        segments, _info = self._model.transcribe(np.concatenate([samples[c["start"]:c["end"]] for c in chunks]),
                                                 **kwargs)
        yield from (_segment(s) for s in restore_speech_timestamps(segments, chunks, SAMPLE_RATE_HZ))

    def transcribe_many(self, recordings: Sequence[np.ndarray]) -> list[list[AsrSegment]]:
        """Segments of each of several 16 kHz mono recordings (times from each one's start).

        Batched: the recordings' windows (:func:`pack_windows`) go through the model in shared
        batches, so short recordings fill batches as one long recording would. Sequential: one
        after the other."""
        if self._pipeline is None:
            return [list(self.transcribe(samples)) for samples in recordings]
        return self._batched(recordings)

    def _batched(self, recordings: Sequence[np.ndarray]) -> list[list[AsrSegment]]:
        assert self._pipeline is not None
        regions: list[Region] = []
        for k, r in enumerate(recordings):
            if self.options.vad_filter:
                regions += speech_regions(r, recording=k, min_silence_ms=self.options.vad_min_silence_duration_ms)
            else:
                regions += [Region(k, a, min(a + int(WINDOW_S * SAMPLE_RATE_HZ), len(r)))
                            for a in range(0, len(r), int(WINDOW_S * SAMPLE_RATE_HZ))]
        out: list[list[AsrSegment]] = [[] for _ in recordings]
        kwargs = dict(self.options.batched_kwargs(), vad_filter=False)
        for attempt in range(1 + RETRIES):
            if not regions:
                break
            windows = pack_windows(regions)
            packed = np.concatenate([recordings[g.recording][g.start:g.end] for w in windows for g in w])
            clips, placed, pos = [], [], 0
            for w in windows:
                clip_start = pos
                for g in w:
                    placed.append((pos, g))
                    pos += g.end - g.start
                clips.append({"start": clip_start / SAMPLE_RATE_HZ, "end": pos / SAMPLE_RATE_HZ})
            segments, _info = self._pipeline.transcribe(packed, clip_timestamps=clips, **kwargs)
            heard: set[Region] = set()
            for s in segments:
                for k, seg, used in _unpack(s, placed):
                    # Sentence-long segments, as the sequential decoder gives: the hallucination
                    # filter (transcribe.hallucination) then drops a made-up sign-off alone, not
                    # a whole window of speech with it.
                    out[k] += sentences(seg)
                    heard |= used
            # A window's decoder may stop early (end of text predicted where the sound changes);
            # the speech after its last word is decoded again, once, in a window of its own.
            regions = [] if attempt == RETRIES else _unheard_tails(windows, heard)
            if regions:
                logger.debug("asr: %d speech regions after a window's last word; decoding them again", len(regions))
        for segs in out:
            segs.sort(key=lambda x: x.start_s)
        return out


@dataclass(frozen=True)
class Region:
    """Speech found by VAD: samples [start, end) of recording number ``recording``."""

    recording: int
    start: int
    end: int


#: Speech that VAD finds this close to a recording's start is decoded from the start: a
#: recording that begins in the middle of speech has its first, soft word before VAD's onset
#: (FireRedASR's meeting clip: 好 at 0.0-0.08 s was cut; bench/realspeech.py). Speech further in
#: keeps VAD's own padding: an earlier start there cost words on the corpus (你们是→您没事).
LEAD_IN_S = 0.6
#: Padded regions this close are one region: cutting a sliver of a few hundredths of a second out
#: of running speech leaves a click in the middle of a word (the meeting clip: 60 ms cut at 5.84 s,
#: 上班→上门).
SLIVER_S = 0.1


def speech_regions(samples: np.ndarray, *, recording: int, min_silence_ms: int) -> list[Region]:
    """Where VAD hears speech in ``samples`` (faster-whisper's Silero VAD, its default 400 ms of
    padding, regions of at most :data:`WINDOW_S`), from the recording's start when the first
    region starts within :data:`LEAD_IN_S` of it, and slivers under :data:`SLIVER_S` between
    regions not cut out. Both decoders decode these regions, so that they hear the same audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=min_silence_ms, max_speech_duration_s=WINDOW_S)
    found = [(t["start"], t["end"]) for t in get_speech_timestamps(samples, vad, sampling_rate=SAMPLE_RATE_HZ)
             if t["end"] > t["start"]]
    limit, sliver = int(WINDOW_S * SAMPLE_RATE_HZ), int(SLIVER_S * SAMPLE_RATE_HZ)
    out: list[list[int]] = []
    for a, b in found:
        if out and a - out[-1][1] < sliver and b - out[-1][0] <= limit:
            out[-1][1] = b
        else:
            out.append([a, b])
    if out and out[0][0] < LEAD_IN_S * SAMPLE_RATE_HZ and out[0][1] <= limit:
        out[0][0] = 0
    return [Region(recording, a, b) for a, b in out]


def pack_windows(regions: Sequence[Region], *, window_s: float = 30.0) -> list[list[Region]]:
    """Consecutive speech regions of one recording joined into windows of at most ``window_s``
    seconds of speech, as faster-whisper's own batched pipeline packs a recording
    (``vad.collect_chunks``). A window never goes on into the next recording: packed together,
    the end of one interaction and the start of the next lost words at the join (a farewell
    heard as the next customer's, bench/accuracy.py --together); windows of several recordings
    still share batches."""
    limit = int(window_s * SAMPLE_RATE_HZ)
    out: list[list[Region]] = []
    size = 0
    for g in regions:
        n = g.end - g.start
        if not out or size + n > limit or out[-1][-1].recording != g.recording:
            out.append([])
            size = 0
        out[-1].append(g)
        size += n
    return out


def _unheard_tails(windows: list[list[Region]], heard: set[Region]) -> list[Region]:
    """The regions after the last region of each window in which a word was heard, where they
    hold at least :data:`RETRY_MIN_S` of speech."""
    out: list[Region] = []
    for w in windows:
        last = max((i for i, g in enumerate(w) if g in heard), default=-1)
        tail = w[last + 1:]
        if sum(g.end - g.start for g in tail) >= RETRY_MIN_S * SAMPLE_RATE_HZ:
            out += tail
    return out


#: Where a window's text is cut into sentences: after these marks, and at a pause between words.
SENTENCE_END = "。！？!?"
SENTENCE_PAUSE_S = 1.0


def sentences(seg: AsrSegment) -> list[AsrSegment]:
    """``seg`` cut after sentence-ending punctuation and at pauses of SENTENCE_PAUSE_S between
    words (a segment without words stays whole). Each piece keeps the segment's scores."""
    if not seg.words:
        return [seg]
    pieces: list[list[Word]] = [[]]
    for w in seg.words:
        if pieces[-1] and w.start_s - pieces[-1][-1].end_s >= SENTENCE_PAUSE_S:
            pieces.append([])
        pieces[-1].append(w)
        if w.text.strip() and w.text.strip()[-1] in SENTENCE_END:
            pieces.append([])
    pieces = [p for p in pieces if p]
    if len(pieces) == 1:
        return [seg]
    return [AsrSegment(p[0].start_s, p[-1].end_s, "".join(w.text for w in p).strip(), tuple(p), seg.avg_logprob,
                       seg.no_speech_prob) for p in pieces]


def _segment(s) -> AsrSegment:  # noqa: ANN001 - a faster_whisper Segment
    words = tuple(Word(w.start, w.end, w.word, w.probability) for w in (s.words or ()))
    return AsrSegment(s.start, s.end, s.text, words, s.avg_logprob, s.no_speech_prob)


def _unpack(s, placed: list[tuple[int, Region]]) -> Iterator[tuple[int, AsrSegment, set[Region]]]:  # noqa: ANN001
    """A segment of the packed audio as (recording, segment in that recording's time, the regions
    its words fell in). ``placed``: (where in the packed audio, region), in order."""
    starts = [p for p, _ in placed]

    def where(t: float) -> tuple[int, Region]:
        return placed[max(bisect.bisect_right(starts, int(t * SAMPLE_RATE_HZ)) - 1, 0)]

    def local(at: tuple[int, Region], t: float) -> float:
        pos, g = at
        return round((g.start + min(max(t * SAMPLE_RATE_HZ - pos, 0), g.end - g.start)) / SAMPLE_RATE_HZ, 3)

    if not s.words:
        at = where((s.start + s.end) / 2)
        yield at[1].recording, AsrSegment(local(at, s.start), local(at, s.end), s.text, (), s.avg_logprob,
                                          s.no_speech_prob), {at[1]}
        return
    groups: list[tuple[int, list[Word], set[Region]]] = []
    for w in s.words:
        at = where((w.start + w.end) / 2)
        k = at[1].recording
        if not groups or groups[-1][0] != k:
            groups.append((k, [], set()))
        groups[-1][1].append(Word(local(at, w.start), local(at, w.end), w.word, w.probability))
        groups[-1][2].add(at[1])
    for k, words, used in groups:
        text = s.text if len(groups) == 1 else "".join(w.text for w in words)
        yield k, AsrSegment(words[0].start_s, words[-1].end_s, text, tuple(words), s.avg_logprob,
                            s.no_speech_prob), used
