"""LevelMeter: dBFS levels published at most ~20 Hz into a latest-wins slot; silence notices."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from captioner.audio.levels import FLOOR_DB, Level, LevelMeter, to_db

RATE_HZ = 16_000


def block(amplitude: float, ms: int = 50, freq_hz: float = 440.0) -> bytes:
    t = np.arange(RATE_HZ * ms // 1000) / RATE_HZ
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype("<i2").tobytes()


def feed(meter: LevelMeter, amplitude: float, seconds: float, t0: float = 0.0,
         ms: int = 50) -> float:
    """Feed blocks covering ``seconds`` starting at ``t0``; returns the time after."""
    t = t0
    data = block(amplitude, ms)
    for _ in range(round(seconds * 1000 / ms)):
        t += ms / 1000
        meter.update(data, t)
    return t


def test_full_scale_sine_reads_0_dbfs_peak_and_minus_3_rms() -> None:
    meter = LevelMeter()
    meter.update(block(1.0), 1.0)
    level = meter.read()
    assert isinstance(level, Level)
    assert level.peak_db == pytest.approx(0.0, abs=0.01)
    assert level.rms_db == pytest.approx(-3.01, abs=0.05)
    assert level.t == 1.0


def test_half_amplitude_is_minus_6_db() -> None:
    meter = LevelMeter()
    meter.update(block(0.5), 1.0)
    level = meter.read()
    assert level is not None
    assert level.peak_db == pytest.approx(-6.02, abs=0.05)
    assert level.rms_db == pytest.approx(-9.03, abs=0.05)


def test_digital_silence_is_the_floor() -> None:
    meter = LevelMeter()
    meter.update(bytes(1600), 1.0)
    level = meter.read()
    assert level is not None and level.peak_db == level.rms_db == FLOOR_DB
    assert to_db(0.0) == FLOOR_DB and to_db(1e-12) == FLOOR_DB


def test_read_is_none_until_something_new_is_published() -> None:
    meter = LevelMeter()
    assert meter.read() is None
    meter.update(block(0.1), 1.0)
    assert meter.read() is not None
    assert meter.read() is None


def test_publishes_at_most_20_hz_and_latest_wins() -> None:
    meter = LevelMeter(publish_hz=20)
    published = []
    t = 0.0
    for i in range(1000):  # 10 s of 10 ms blocks
        t += 0.01
        meter.update(block(0.1 if i < 990 else 0.9, ms=10), t)
        level = meter.read()
        if level is not None:
            published.append(level)
    assert 190 <= len(published) <= 201
    assert all(b.t - a.t >= 0.049 for a, b in zip(published, published[1:], strict=False))
    # an unread slot only ever holds the newest level
    meter.update(block(0.2, ms=10), t + 1.0)
    meter.update(block(0.4, ms=10), t + 2.0)
    newest = meter.read()
    assert newest is not None and newest.t == t + 2.0
    assert meter.read() is None


def test_level_covers_the_loudest_block_since_the_last_publish() -> None:
    """A short click between two publishes must still show in the peak."""
    meter = LevelMeter(publish_hz=20)
    meter.update(block(0.01, ms=10), 0.00)
    meter.read()
    meter.update(block(0.9, ms=10), 0.01)  # not published yet (< 50 ms)
    meter.update(block(0.01, ms=10), 0.06)
    level = meter.read()
    assert level is not None and level.peak_db == pytest.approx(to_db(0.9), abs=0.05)


def test_silence_notice_after_10_s_once_per_stretch() -> None:
    notices: list[str] = []
    meter = LevelMeter("Built-in Mic", on_silence=notices.append)
    t = feed(meter, 0.3, 1.0)
    t = feed(meter, 0.0, 9.5, t)
    assert notices == [] and meter.silent_for_s == pytest.approx(9.5, abs=0.06)
    t = feed(meter, 0.0, 0.6, t)
    assert notices == ["No audio from 'Built-in Mic' for 10 s — check that it isn't muted."]
    t = feed(meter, 0.0, 30.0, t)
    assert len(notices) == 1  # still the same silent stretch
    t = feed(meter, 0.3, 0.1, t)
    assert meter.silent_for_s == 0.0
    feed(meter, 0.0, 10.1, t)
    assert len(notices) == 2


def test_quiet_noise_below_minus_60_dbfs_counts_as_silence() -> None:
    notices: list[str] = []
    meter = LevelMeter("Mic", on_silence=notices.append)
    t = feed(meter, 10 ** (-70 / 20), 10.2)  # hiss at -70 dBFS
    assert len(notices) == 1
    notices.clear()
    meter.reset(t)
    feed(meter, 10 ** (-50 / 20), 12.0, t)  # -50 dBFS: someone is there
    assert notices == []
    assert meter.silent_for_s == 0.0


def test_silence_notice_can_be_disabled() -> None:
    notices: list[str] = []
    meter = LevelMeter("Monitor", silence_notice_s=None, on_silence=notices.append)
    feed(meter, 0.0, 20.0)
    assert notices == [] and meter.silent_for_s == pytest.approx(19.95, abs=0.06)


def test_reset_starts_a_new_silent_stretch() -> None:
    notices: list[str] = []
    meter = LevelMeter("Mic", on_silence=notices.append)
    t = feed(meter, 0.0, 8.0)
    meter.reset(t)  # e.g. the device was reopened
    feed(meter, 0.0, 8.0, t)
    assert notices == []


def test_read_from_another_thread_while_updating() -> None:
    meter = LevelMeter()
    got: list[Level] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            level = meter.read()
            if level is not None:
                got.append(level)

    thread = threading.Thread(target=reader)
    thread.start()
    feed(meter, 0.5, 5.0, ms=10)
    done.set()
    thread.join()
    last = meter.read()
    times = [level.t for level in got] + ([last.t] if last else [])
    assert times == sorted(times) and len(set(times)) == len(times)
