"""Energy-based speech segmenter: splits a 16 kHz stream into utterances.

Each 20 ms frame's RMS level (dBFS) is compared with an adaptive noise floor,
the 10th percentile of the last three seconds of levels, which follows the floor
down at once and up slowly (fast while idle, very slowly during speech, so a
long utterance does not raise its own floor). A frame is *voiced* when it is
``margin_db`` above that floor and above an absolute gate (``min_level_dbfs``)
that keeps digital silence and faint hiss quiet whatever the floor. Speech
starts after ``onset_ms`` of mostly voiced frames and ends after
``hangover_ms`` with no voiced frame (a lower margin applies during speech:
hysteresis keeps word tails). The segmenter only reports frame indices; the
recognizer keeps the audio.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
SILENCE_DBFS = -100.0  # level reported for digital silence


@dataclass(frozen=True)
class VadConfig:
    """Segmenter thresholds (times in ms, levels in dB)."""

    frame_ms: int = 20
    margin_db: float = 10.0  # above the noise floor to start speech
    hold_margin_db: float = 6.0  # above the floor to stay voiced during speech
    min_level_dbfs: float = -55.0  # never voiced below this level
    onset_ms: int = 100  # window in which most frames must be voiced to start
    onset_fraction: float = 0.75
    hangover_ms: int = 500  # unvoiced run that ends an utterance
    noise_window_ms: int = 3000
    noise_percentile: float = 10.0
    rise_idle_db_per_s: float = 6.0
    rise_speech_db_per_s: float = 3.0

    @property
    def frame_samples(self) -> int:
        return SAMPLE_RATE_HZ * self.frame_ms // 1000


@dataclass(frozen=True)
class SpeechStart:
    """Speech began at ``frame`` (the first voiced frame of the onset window)."""

    frame: int


@dataclass(frozen=True)
class SpeechEnd:
    """Speech ended; ``last_voiced_frame`` is the last voiced frame."""

    last_voiced_frame: int


def frame_level_dbfs(frame: np.ndarray) -> float:
    """RMS level of float samples in dBFS (full scale 1.0); silence is -100."""
    power = float(np.dot(frame, frame)) / max(1, len(frame))
    return max(SILENCE_DBFS, 10.0 * np.log10(power + 1e-12))


class Segmenter:
    """Frame-by-frame speech/silence state machine with an adaptive floor."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        cfg = self.config
        self._levels: deque[float] = deque(maxlen=max(1, cfg.noise_window_ms // cfg.frame_ms))
        self._recent_voiced: deque[bool] = deque(maxlen=max(1, cfg.onset_ms // cfg.frame_ms))
        self._hangover_frames = max(1, cfg.hangover_ms // cfg.frame_ms)
        self._rise_idle = cfg.rise_idle_db_per_s * cfg.frame_ms / 1000.0
        self._rise_speech = cfg.rise_speech_db_per_s * cfg.frame_ms / 1000.0
        self.noise_floor_dbfs: float | None = None
        self.in_speech = False
        self.frame_index = -1  # index of the last frame pushed
        self.last_voiced_frame = -1
        self.last_level_dbfs = SILENCE_DBFS  # level of the last frame pushed

    def _update_floor(self, level_dbfs: float) -> float:
        self._levels.append(level_dbfs)
        estimate = float(np.percentile(self._levels, self.config.noise_percentile))
        floor = self.noise_floor_dbfs
        if floor is None or estimate <= floor:
            floor = estimate
        else:
            rise = self._rise_speech if self.in_speech else self._rise_idle
            floor += min(estimate - floor, rise)
        self.noise_floor_dbfs = floor
        return floor

    def push(self, frame: np.ndarray) -> SpeechStart | SpeechEnd | None:
        """Feed one frame of ``config.frame_samples`` float samples."""
        cfg = self.config
        self.frame_index += 1
        level = self.last_level_dbfs = frame_level_dbfs(frame)
        # Classify against the floor as it was before this frame.
        floor = self.noise_floor_dbfs if self.noise_floor_dbfs is not None else level
        margin = cfg.hold_margin_db if self.in_speech else cfg.margin_db
        voiced = level >= cfg.min_level_dbfs and level >= floor + margin
        self._update_floor(level)
        self._recent_voiced.append(voiced)
        if voiced:
            self.last_voiced_frame = self.frame_index
        if not self.in_speech:
            window = self._recent_voiced
            if len(window) == window.maxlen and sum(window) >= cfg.onset_fraction * len(window):
                self.in_speech = True
                first = self.frame_index - len(window) + 1 + list(window).index(True)
                return SpeechStart(first)
            return None
        if self.frame_index - self.last_voiced_frame >= self._hangover_frames:
            self.in_speech = False
            self._recent_voiced.clear()
            return SpeechEnd(self.last_voiced_frame)
        return None


def segment(audio: np.ndarray, config: VadConfig | None = None) -> list[tuple[int, int]]:
    """Speech spans ``(start_ms, end_ms)`` of a whole float signal (for tests/tools)."""
    seg = Segmenter(config)
    step = seg.config.frame_samples
    frame_ms = seg.config.frame_ms
    spans: list[tuple[int, int]] = []
    start = None
    for offset in range(0, len(audio) - step + 1, step):
        event = seg.push(audio[offset : offset + step])
        if isinstance(event, SpeechStart):
            start = event.frame
        elif isinstance(event, SpeechEnd) and start is not None:
            spans.append((start * frame_ms, (event.last_voiced_frame + 1) * frame_ms))
            start = None
    if start is not None:
        spans.append((start * frame_ms, (seg.frame_index + 1) * frame_ms))
    return spans
