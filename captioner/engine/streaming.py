"""Low-latency recognizer: stable-prefix commits within ``max_delay``, short partials.

The live (``operating_point: standard``) behaviour. Segmentation, pre-roll and
framing are :class:`~.recognizer.WhisperRecognizer`'s; what differs is when
words become final. While someone speaks, the audio since the last committed
word is re-decoded (greedy, with the committed words of the window as a
forced prefix; earlier words as ``<|startofprev|>`` context only if
``context_words`` asks for it, since that context made greedy decodes repeat it)
every ``decode_interval_ms`` of new audio. A word is committed (sent as a
final) when

- two consecutive decodes agree on it (local agreement over the uncommitted
  words, as in Macháček et al., "Turning Whisper into Real-Time
  Transcription System", 2023), or
- it ended more than ``max_delay_ms`` minus the decode period ago, so that it
  is final within ``max_delay`` whether or not the decodes agree, or
- the partial would otherwise grow past ``max_partial_words``.

Committed words are never decoded again: the window's audio before them is
dropped once it exceeds ``keep_committed_ms`` (bounding the decode cost
however long someone talks) and the decoder continues after them, so a
later decode cannot contradict a final. Partials carry only the uncommitted
tail. A decode runs as soon as ``pause_decode_ms`` of silence follows speech;
when the segmenter then ends the utterance and no voiced audio came since,
that decode's tail becomes final without decoding again. No decoding happens
while the segmenter hears no speech. A decode that loops (a runaway
repetition) changes nothing: the previous decode's words stand; words a
decode aligns at zero length onto audio already final are re-readings and
dropped.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from captioner.engine import whisper
from captioner.engine.base import Hypothesis
from captioner.engine.features import HOP_SAMPLES, N_FRAMES
from captioner.engine.recognizer import SAMPLES_PER_MS, WhisperRecognizer, _ms
from captioner.providers.base import Word

logger = logging.getLogger(__name__)

DEFAULT_MAX_DELAY_MS = 2000
MIN_WINDOW_FRAMES = 1000  # 10 s: shorter windows make Whisper loop
MIN_NEW_SPEECH_MS = 100  # voiced audio after the last committed word worth a decode
UNVOICED_WORD_MS = 300  # a word starting this long after the last voiced frame is dropped
# a detected language is settled (no commits before) when this sure after this much audio,
# or after DETECT_MAX_MS whatever the probability
DETECT_SURE_PROB = 0.75
DETECT_MIN_MS = 1500
DETECT_MAX_MS = 4000
MAX_REPEAT_WORDS = 5  # longest run of committed words a decode may not repeat


def _key(text: str) -> str:
    return whisper.normalise_words(text)


class StreamingRecognizer(WhisperRecognizer):
    """Implements :class:`captioner.engine.base.Recognizer` with stable-prefix commits."""

    def __init__(
        self,
        model: whisper.WhisperModel | None = None,
        *,
        max_delay_ms: int = DEFAULT_MAX_DELAY_MS,
        decode_interval_ms: int | None = None,
        max_partial_words: int = 20,
        keep_committed_ms: int = 3000,
        context_words: int = 0,
        pause_decode_ms: int = 200,
        beam_size: int = 1,
        agree_age_ms: int = 600,
        **kwargs: Any,
    ) -> None:
        """Create a recognizer.

        Args:
            model: shared model (see :func:`~.recognizer.load_model`).
            max_delay_ms: longest time from a word's end to its final (0.7-4 s).
            decode_interval_ms: new audio between decodes; default a third
                of ``max_delay_ms``, within 250-667 ms (a quarter, 500 ms at
                the default ``max_delay``, cost a third more CPU for the same
                WER and 0.1-0.2 s less delay to final).
            max_partial_words: longest partial; older words are committed first.
            keep_committed_ms: committed audio kept in the window as acoustic
                context before it is dropped.
            context_words: committed words before the window given as
                ``<|startofprev|>`` context (0: none; on the test speech any
                context made greedy decodes repeat it).
            pause_decode_ms: silence after speech that triggers a decode at once.
            beam_size: of decodes while speech goes on (1: greedy).
            agree_age_ms: a word two decodes agree on is committed once it
                ended this long ago (earlier, a pause may still bring a beam
                search decode of it); at most a third of ``max_delay_ms``.
            kwargs: :class:`~.recognizer.WhisperRecognizer` options
                (``language``, ``first_partial_ms``, ``partial_budget``, ``vad``...).
        """
        kwargs.setdefault("first_partial_ms", 200)
        super().__init__(model, **kwargs)
        self._fixed_interval_ms = decode_interval_ms
        self._agree_age_cap_ms = agree_age_ms
        self.set_max_delay(max_delay_ms)
        self.max_partial_words = max_partial_words
        self.keep_committed_ms = keep_committed_ms
        self.pause_decode_ms = pause_decode_ms
        self.beam_size = beam_size
        self._context: deque[str] = deque(maxlen=context_words)
        self.decodes = 0  # decodes run (for benchmarks)
        self.loops = 0  # decodes that looped (for benchmarks)

    def set_max_delay(self, max_delay_ms: int) -> None:
        """Change ``max_delay`` (a session's SetRecognitionConfig); applies from the next decode."""
        self.max_delay_ms = max_delay_ms
        self.decode_interval_ms = self._fixed_interval_ms or max(250, min(667, max_delay_ms // 3))
        self.agree_age_ms = min(self._agree_age_cap_ms, max_delay_ms // 3)

    # -- state ---------------------------------------------------------------
    def _reset_utterance(self) -> None:
        super()._reset_utterance()
        if hasattr(self, "_context"):
            self._context.clear()  # context across a pause invites repeats of it
        self._committed: list[Word] = []  # committed words still inside the window
        self._tail: list[Word] = []  # the last decode's uncommitted words
        self._decoded_end_sample = 0
        self._utt_language = self.language
        self._shown_language = self.language or "en"

    def _force_age_ms(self, interval_ms: float, cost_ms: float) -> float:
        """Words that ended longer ago than this are committed now: the next
        decode comes ``interval_ms`` of audio later and takes about ``cost_ms``,
        plus up to one 100 ms client frame."""
        return max(100.0, self.max_delay_ms - interval_ms - cost_ms - 100.0)

    # -- decoding --------------------------------------------------------------
    def accept(self, pcm: bytes) -> list[Hypothesis]:
        out = super().accept(pcm)
        seg = self._segmenter
        quiet_frames = seg.frame_index - seg.last_voiced_frame
        if (
            self.partials
            and self._in_utterance
            and quiet_frames * self._frame_ms >= self.pause_decode_ms
            and self._decoded_end_sample < self._utt_end_sample - quiet_frames * self._frame_samples
        ):
            out.extend(self._decode_partial(pause=True))  # be ready to finalize
        return out

    def _last_voiced_ms(self) -> int:
        seg = self._segmenter
        return (seg.last_voiced_frame + 1) * self._frame_ms

    def _decode(
        self, n_frames: int, pause: bool = False
    ) -> tuple[list[Word], whisper.DecodeResult] | None:
        """Decode the window's first ``n_frames``; the uncommitted words, stream-timed.

        Greedy while speech goes on; beam search (``final_beam_size``) once the
        speaker pauses. None when nothing was said since the last committed word.
        """
        audio = self._audio(n_frames)
        committed_end_ms = self._committed[-1].end_ms if self._committed else 0
        if (len(audio) < 100 * SAMPLES_PER_MS
                or self._last_voiced_ms() <= committed_end_ms + MIN_NEW_SPEECH_MS):
            return None
        needed = len(audio) // HOP_SAMPLES + 100
        window = min(N_FRAMES, max(MIN_WINDOW_FRAMES, -(-needed // 500) * 500))
        committed_here = " ".join(w.text for w in self._committed)
        earlier = list(self._context)[: max(0, len(self._context) - len(self._committed))]
        result = self.model.transcribe(
            audio, window_frames=window, word_times=True, patience=1.0,
            beam_size=self.final_beam_size if pause else self.beam_size,
            language=self._utt_language, prefix=committed_here, context=" ".join(earlier),
        )
        self.decodes += 1
        self._decoded_end_sample = self._utt_start_sample + len(audio)
        if self.language is None and self._utt_language is None:
            self._settle_language(result, _ms(len(audio)))
        if result.looped:  # a runaway repetition: its words and times are not to be trusted
            self.loops += 1
            logger.debug("decode looped (%r); the last decode's words stand", result.text)
            return list(self._tail), result
        start_ms = _ms(self._utt_start_sample)
        floor_ms = self._committed[-1].end_ms if self._committed else start_ms
        # a zero-length word inside the committed audio re-reads words already final
        heard = [w for w in result.words
                 if not (w.end_ms == w.start_ms and w.end_ms + start_ms <= floor_ms)]
        first_mid_ms = (heard[0].start_ms + heard[0].end_ms) // 2 + start_ms if heard else 0
        words = [
            Word(w.text, max(floor_ms, w.start_ms + start_ms), max(floor_ms, w.end_ms + start_ms))
            for w in heard
        ]
        # words placed after the last voiced audio are the model talking to itself
        limit_ms = self._last_voiced_ms() + UNVOICED_WORD_MS
        while words and words[-1].start_ms > limit_ms:
            words.pop()
        return self._drop_repeat(words, first_mid_ms), result

    def _settle_language(self, result: whisper.DecodeResult, audio_ms: int) -> None:
        """Fix a detected language for the utterance once detection is sure enough."""
        self._shown_language = result.language
        sure = result.language_prob >= DETECT_SURE_PROB and audio_ms >= DETECT_MIN_MS
        if sure or audio_ms >= DETECT_MAX_MS:
            self._utt_language = result.language
            logger.debug("language %s (p=%.2f after %d ms)", result.language,
                         result.language_prob, audio_ms)

    def _drop_repeat(self, words: list[Word], first_mid_ms: int) -> list[Word]:
        """Drop a decode's opening words that repeat the last committed ones.

        Two or more repeated words are a loop over the forced prefix; a single
        one is a repeat only if the decoder aligned the middle of it
        (``first_mid_ms``, before clamping to the committed end) inside the
        committed word: one said again ("five, five") lies after it.
        """
        done = self._committed
        for n in range(min(MAX_REPEAT_WORDS, len(done), len(words)), 0, -1):
            if [_key(w.text) for w in words[:n]] != [_key(w.text) for w in done[-n:]]:
                continue
            if n >= 2 or first_mid_ms < done[-1].end_ms:
                return words[n:]
        return words

    def _decode_partial(self, pause: bool = False) -> list[Hypothesis]:
        decoded = self._decode(len(self._utt_frames), pause)
        now_ms = _ms(self._utt_end_sample)
        if decoded is None:
            self._next_partial_sample = self._utt_end_sample + 100 * SAMPLES_PER_MS
            return []
        words, result = decoded
        cost_ms = result.elapsed_s * 1000.0
        # the CPU budget stretches the interval on a slow machine, but never past max_delay
        budget_ms = cost_ms / max(self.partial_budget, 1e-3)
        deadline_ms = self.max_delay_ms - 2 * cost_ms - 200.0
        interval_ms = max(self.decode_interval_ms, min(budget_ms, deadline_ms))
        out: list[Hypothesis] = []
        if result.text and not result.looped:
            agreed = 0
            # an unsure decode (Whisper's fallback threshold) does not confirm the one before:
            # two unsure decodes of a short onset can agree on the same wrong words
            confirmable = self._tail if result.avg_logprob >= whisper.LOGPROB_MIN else []
            for old, new in zip(confirmable, words, strict=False):
                if _key(old.text) != _key(new.text) or new.end_ms > now_ms - self.agree_age_ms:
                    break
                agreed += 1
            force_before_ms = now_ms - self._force_age_ms(interval_ms, cost_ms)
            aged = max((i + 1 for i, w in enumerate(words) if w.end_ms <= force_before_ms),
                       default=0)
            n_commit = max(agreed, aged, len(words) - self.max_partial_words)
            if self._utt_language is None:
                n_commit = 0  # the language is not settled yet
            out.extend(self._commit(words[:n_commit]))
            self._tail = words[n_commit:]
            out.extend(self._show_partial())
        speech_ms = _ms(self._utt_end_sample - self._onset_sample)
        unread = not self._partial_text and not self._committed
        if unread and speech_ms < self.first_partial_ms + 500:
            interval_ms = min(interval_ms, 150)  # onset too short to read: retry soon
        elif result.rejected:
            interval_ms *= 2  # probably not speech: spend less on it
        self._next_partial_sample = self._utt_end_sample + int(interval_ms) * SAMPLES_PER_MS
        self._trim()
        return out

    def _commit(self, words: list[Word]) -> list[Hypothesis]:
        if not words:
            return []
        self._committed.extend(words)
        self._context.extend(w.text for w in words)
        text = " ".join(w.text for w in words)
        self._partial_text = ""  # a final clears the partial on the client
        return [Hypothesis(text, words[0].start_ms, words[-1].end_ms, tuple(words), True,
                           self._shown_language)]

    def _show_partial(self) -> list[Hypothesis]:
        text = " ".join(w.text for w in self._tail)
        if not text or text == self._partial_text:
            return []
        self._partial_text = text
        return [Hypothesis(text, self._tail[0].start_ms, _ms(self._utt_end_sample),
                           tuple(self._tail), False, self._shown_language)]

    def _trim(self) -> None:
        """Drop window audio before committed words older than ``keep_committed_ms``."""
        if not self._committed:
            return
        start_ms = _ms(self._utt_start_sample)
        keep_from_ms = _ms(self._utt_end_sample) - self.keep_committed_ms
        drop = [w for w in self._committed if w.end_ms <= keep_from_ms]
        if not drop:
            return
        cut_ms = drop[-1].end_ms
        cut_frames = min(len(self._utt_frames), (cut_ms - start_ms) // self._frame_ms)
        if cut_frames <= 0:
            return
        del self._utt_frames[:cut_frames]
        del self._utt_levels[:cut_frames]
        self._utt_start_sample += cut_frames * self._frame_samples
        self._committed = self._committed[len(drop):]

    def _finalize(self, n_frames: int) -> list[Hypothesis]:
        end_sample = self._utt_start_sample + n_frames * self._frame_samples
        words = self._tail
        if self._decoded_end_sample < end_sample - self.tail_ms * SAMPLES_PER_MS:
            decoded = self._decode(n_frames, pause=True)
            words = decoded[0] if decoded is not None else []
        shown = bool(self._partial_text)
        start_ms, end_ms = _ms(self._utt_start_sample), _ms(end_sample)
        out = self._commit(words)
        self._reset_utterance()
        if not out and shown:
            out.append(Hypothesis("", start_ms, end_ms))  # withdraw the partial
        return out
