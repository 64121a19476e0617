"""Input level metering and silence detection for one capture stream.

:meth:`LevelMeter.update` runs on the asyncio loop thread for every captured
block (16 kHz mono s16le). At most ``publish_hz`` times a second it publishes a
:class:`Level` (peak and RMS in dBFS over the blocks since the last one) into a
size-1 slot where the latest wins; the GUI's QTimer polls :meth:`LevelMeter.read`
from its own thread. When nothing rises above ``silence_db`` for
``silence_notice_s`` the meter calls ``on_silence`` once per silent stretch.
"""

from __future__ import annotations

import collections
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

FLOOR_DB = -100.0
FULL_SCALE = 32768.0


@dataclass(frozen=True)
class Level:
    """One published level.

    Attributes:
        peak_db: highest absolute sample in dBFS (0 = full scale).
        rms_db: RMS in dBFS over the published interval.
        t: ``time.monotonic()`` of the newest block in it.
    """

    peak_db: float
    rms_db: float
    t: float


def to_db(amplitude: float) -> float:
    """Linear amplitude (1.0 = full scale) to dBFS, floored at :data:`FLOOR_DB`."""
    if amplitude <= 0.0:
        return FLOOR_DB
    return max(FLOOR_DB, 20.0 * math.log10(amplitude))


class LevelMeter:
    """Peak/RMS meter with a size-1, latest-wins slot and silence detection.

    Args:
        name: the device's display name, used in the silence notice.
        publish_hz: the most levels published per second.
        silence_db: blocks whose peak stays below this count as silent.
        silence_notice_s: silent this long → ``on_silence(message)``, once per
            stretch; None disables the notice (silence is still measured).
        on_silence: called on the loop thread with a message for the user.

    Attributes:
        silent_for_s: seconds without signal above ``silence_db`` (0 while
            there is signal or before the first block).
    """

    def __init__(self, name: str = "", *, publish_hz: float = 20.0, silence_db: float = -60.0,
                 silence_notice_s: float | None = 10.0,
                 on_silence: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.publish_interval_s = 1.0 / publish_hz
        self.silence_db = silence_db
        self.silence_notice_s = silence_notice_s
        self.on_silence = on_silence
        # NB: deque(maxlen=1) append/popleft are atomic under the GIL: the loop
        # thread publishes, the GUI thread takes, no lock needed.
        self._slot: collections.deque[Level] = collections.deque(maxlen=1)
        self._peak = 0
        self._sumsq = 0.0
        self._count = 0
        self._published_t: float | None = None
        self._latest_t: float | None = None
        self._signal_t: float | None = None
        self._notified = False

    # -- loop thread ---------------------------------------------------------------

    def update(self, pcm: bytes, t: float | None = None) -> None:
        """Account one block of s16le PCM captured at ``t`` (monotonic seconds)."""
        t = time.monotonic() if t is None else t
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.size:
            peak = max(int(samples.max()), -int(samples.min()))
            as_float = samples.astype(np.float32)
            self._peak = max(self._peak, peak)
            self._sumsq += float(np.dot(as_float, as_float))
            self._count += samples.size
            self._track_silence(to_db(peak / FULL_SCALE), t)
        self._latest_t = t
        # 1 ms slack: block times are float sums and 50 ms blocks must publish each time
        due = self._published_t is None or t - self._published_t >= self.publish_interval_s - 1e-3
        if due:
            self._publish(t)

    def reset(self, t: float | None = None) -> None:
        """Start a new silence stretch (after the device was reopened)."""
        self._signal_t = time.monotonic() if t is None else t
        self._latest_t = self._signal_t
        self._notified = False

    def _publish(self, t: float) -> None:
        if not self._count:
            return
        rms = math.sqrt(self._sumsq / self._count) / FULL_SCALE
        self._slot.append(Level(to_db(self._peak / FULL_SCALE), to_db(rms), t))
        self._published_t = t
        self._peak, self._sumsq, self._count = 0, 0.0, 0

    def _track_silence(self, peak_db: float, t: float) -> None:
        if self._signal_t is None or peak_db > self.silence_db:
            self._signal_t = t
            self._notified = False
            return
        if (self.silence_notice_s is not None and not self._notified
                and t - self._signal_t >= self.silence_notice_s):
            self._notified = True
            seconds = round(self.silence_notice_s)
            message = f"No audio from '{self.name}' for {seconds} s — check that it isn't muted."
            log.info("silence: %s", message)
            if self.on_silence is not None:
                self.on_silence(message)

    # -- any thread ----------------------------------------------------------------

    @property
    def silent_for_s(self) -> float:
        if self._signal_t is None or self._latest_t is None:
            return 0.0
        return max(0.0, self._latest_t - self._signal_t)

    def read(self) -> Level | None:
        """The newest level not yet read, or None (called by the GUI's timer)."""
        try:
            return self._slot.popleft()
        except IndexError:
            return None
