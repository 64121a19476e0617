"""Stable-prefix commits against a scripted model: bad decodes add no words to the finals.

The model is a stand-in that "hears" a fixed script of words (one every
400 ms of loud noise, which the energy segmenter takes for speech) and
answers each decode like Whisper would: the words after the forced prefix
that the audio so far holds. Chosen decodes misbehave the two ways greedy
Whisper does on real speech: a runaway repetition, and a re-reading of the
words already final, aligned at zero length onto the committed audio.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captioner.engine.streaming import StreamingRecognizer
from captioner.engine.whisper import DecodeResult
from captioner.providers.base import Word

SPEECH_START_MS = 500
WORD_MS = 400  # one word per 400 ms: 300 ms of word, 100 ms gap
SCRIPT = [f"w{i}" for i in range(20)]


class ScriptedModel:
    """Answers ``transcribe`` from a script; decodes in ``loop_at`` / ``reread_at`` misbehave."""

    multilingual = False
    name = "scripted"
    languages = ("en",)

    def __init__(self, loop_at: set[int], reread_at: set[int], script: list[str] = SCRIPT) -> None:
        self.recognizer: StreamingRecognizer | None = None
        self.script = script
        self.loop_at, self.reread_at = loop_at, reread_at
        self.calls = 0

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> DecodeResult:
        assert self.recognizer is not None
        self.calls += 1
        start_ms = self.recognizer._utt_start_sample // 16
        end_ms = start_ms + len(audio) // 16
        done = len(kwargs["prefix"].split())  # committed words in this window
        committed = self.recognizer._committed
        floor_ms = committed[-1].end_ms if committed else 0
        words = []
        for i, text in enumerate(self.script):
            word_start = SPEECH_START_MS + i * WORD_MS
            if word_start + 300 > end_ms:
                break
            if word_start + 300 > floor_ms:  # not final yet; aligned 60 ms early, as Whisper does
                words.append(Word(text, word_start - 60 - start_ms, word_start + 300 - start_ms))
        assert done == len(committed)
        if self.calls in self.loop_at:
            looped = ("x y " * 10).split()
            return DecodeResult(" ".join(looped), tuple(Word(w, 0, 10) for w in looped), 0.1,
                                -0.3, looped=True)
        if self.calls in self.reread_at and committed:
            at = committed[-1].end_ms - start_ms
            ghosts = tuple(Word(f"again{i}", at, at) for i in range(3))
            words = [*ghosts, *words]
        return DecodeResult(" ".join(w.text for w in words), tuple(words), 0.1, -0.3)


def _noise(seconds: float, level_dbfs: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * 16000)) * 10 ** (level_dbfs / 20) * 32768).astype(
        "<i2")


def _run(model: ScriptedModel) -> list[Word]:
    recognizer = StreamingRecognizer(model, max_delay_ms=2000)  # type: ignore[arg-type]
    model.recognizer = recognizer
    speech_s = len(model.script) * WORD_MS / 1000
    pcm = np.concatenate([_noise(SPEECH_START_MS / 1000, -70, 1), _noise(speech_s, -20, 2),
                          _noise(1.5, -70, 3)]).tobytes()
    finals = []
    for offset in range(0, len(pcm), 3200):
        finals += [h for h in recognizer.accept(pcm[offset : offset + 3200]) if h.is_final]
    finals += [h for h in recognizer.finish() if h.is_final]
    return [w for h in finals for w in h.words]


def test_the_scripted_words_become_final_once_each_in_order():
    words = _run(ScriptedModel(set(), set()))
    assert [w.text for w in words] == SCRIPT
    assert all(a.end_ms <= b.start_ms for a, b in zip(words, words[1:], strict=False))


def test_a_looping_decode_adds_nothing_and_the_last_good_words_stand():
    model = ScriptedModel(loop_at={6, 9, 10}, reread_at=set())
    words = _run(model)
    assert [w.text for w in words] == SCRIPT
    assert model.calls > 10


def test_words_re_read_onto_committed_audio_are_dropped():
    model = ScriptedModel(loop_at=set(), reread_at=set(range(1, 100)))
    words = _run(model)
    assert [w.text for w in words] == SCRIPT


def test_a_word_said_twice_is_final_twice():
    script = [w for i in range(10) for w in (f"w{i}", f"w{i}")]  # "five, five"
    words = _run(ScriptedModel(set(), set(), script))
    assert [w.text for w in words] == script
