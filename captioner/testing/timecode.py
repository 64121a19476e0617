"""Audio that says where it is: each millisecond of PCM encodes its own position.

Reconnect tests need the fake vendor to "hear" the same speech at the same
session time whatever audio a new connection starts with (a replay from the
last final, or live audio after a skip). :func:`timecode_pcm` writes the
absolute millisecond into the samples; a fake built with ``timecoded=True``
reads it from a connection's first frame and shifts its script with
:func:`rebase`, keeping only the words that start after that point.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from captioner.config import SAMPLE_RATE_HZ

SAMPLES_PER_MS = SAMPLE_RATE_HZ // 1000  # 16
_BASE = 20_000


def timecode_pcm(start_ms: int, duration_ms: int) -> bytes:
    """16 kHz s16le mono whose millisecond ``m`` holds ``[m // 20000 + 1, m % 20000 + 1, …]``."""
    out = bytearray()
    for ms in range(start_ms, start_ms + duration_ms):
        hi, lo = ms // _BASE + 1, ms % _BASE + 1
        out += struct.pack("<16h", hi, *([lo] * (SAMPLES_PER_MS - 1)))
    return bytes(out)


def read_timecode(pcm: bytes) -> int | None:
    """The absolute millisecond at the start of ``pcm`` (ms-aligned), or None if not timecoded."""
    if len(pcm) < 4:
        return None
    hi, lo = struct.unpack_from("<2h", pcm)
    if hi < 1 or lo < 1:
        return None
    return (hi - 1) * _BASE + lo - 1


def rebase(utterances: Sequence, start_ms: int) -> list:
    """The script as heard by a connection whose audio starts at absolute ``start_ms``.

    Words that started before ``start_ms`` are not heard; an utterance cut in
    the middle keeps its remaining words at their own times.
    """
    from captioner.testing.fakes import Utterance

    heard = []
    for utt in utterances:
        words = [w for w in utt.words() if w[1] >= start_ms]
        if not words:
            continue
        text = " ".join(w[0] for w in words)
        heard.append(Utterance(text, words[0][1] - start_ms, utt.end_ms - start_ms, utt.speaker))
    return heard
