"""The session's replay buffer: what is resent after a drop and what counts as lost."""

from __future__ import annotations

from captioner.stream import _Replay

MS = 32  # bytes per ms of 16 kHz s16le


def test_final_trims_replay_inside_a_block():
    replay = _Replay(10_000 * MS)
    replay.add(0, bytes(100 * MS))
    replay.add(100 * MS, bytes(100 * MS))
    replay.trim_before(150 * MS)
    assert replay.start() == 150 * MS
    assert replay.size_bytes == 50 * MS


def test_overflow_is_lost_only_where_no_final_covers_it():
    """Regression: a final arriving after an overflow left the whole span marked lost."""
    replay = _Replay(100 * MS)
    for i in range(12):
        replay.add(i * 100 * MS, bytes(100 * MS))
    assert replay.lost == (0, 1100 * MS)
    replay.trim_before(500 * MS)
    assert replay.lost == (500 * MS, 1100 * MS)
    replay.trim_before(1150 * MS)
    assert replay.lost is None
