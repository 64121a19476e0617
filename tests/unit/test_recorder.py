"""The session recorder: PCM → FLAC files beside the journal → the same PCM back."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from captioner.audio import recorder as rec
from captioner.audio.wavfile import read_audio
from captioner.config import BYTES_PER_MS
from captioner.transcript import codec

BLOCK = 50 * BYTES_PER_MS


def _speech(data_dir: Path) -> bytes:
    return read_audio(str(data_dir / "librivox-0870.wav"))


def _feed(tap: rec.SourceTap, pcm: bytes) -> None:
    for pos in range(0, len(pcm), BLOCK):
        tap.put(pcm[pos:pos + BLOCK])


def test_recording_round_trip_is_lossless(tmp_path: Path, data_dir: Path) -> None:
    pcm = _speech(data_dir)
    recorder = rec.Recorder(tmp_path, "s1")
    tap = recorder.tap("mic", 0)
    _feed(tap, pcm)
    tap.finish()
    recorder.close()
    [(source, start_ms, path)] = codec.audio_parts(tmp_path, "s1")
    assert (source, start_ms, path.name) == ("mic", 0, "s1.mic.0.flac")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # as private as the journal
    assert path.stat().st_size < len(pcm) * 0.8  # compressed
    back = rec.read_pcm(path)
    assert back == pcm
    a = np.frombuffer(back, np.int16).astype(float)
    b = np.frombuffer(pcm, np.int16).astype(float)
    assert np.corrcoef(a, b)[0, 1] > 0.9999
    assert not rec.needs_repair(path)
    assert rec.duration_ms(path) == len(pcm) // BYTES_PER_MS
    assert recorder.dropped_ms == 0 and recorder.error == ""


def test_stretches_follow_the_session_clock(tmp_path: Path) -> None:
    """Switching recording off and on, and a resumed run, start new files named by their start."""
    recorder = rec.Recorder(tmp_path, "s2")
    second = bytes(1000 * BYTES_PER_MS)
    tap = recorder.tap("mic", 0)
    _feed(tap, second)  # 0-1 s recorded
    recorder.enabled = False
    _feed(tap, second)  # 1-2 s not
    recorder.enabled = True
    _feed(tap, second)  # 2-3 s recorded
    tap.finish()
    resumed = recorder.tap("system", 60_000)  # a run resumed at 60 s of session time
    _feed(resumed, second)
    resumed.finish()
    recorder.close()
    parts = [(s, start, rec.duration_ms(p)) for s, start, p in codec.audio_parts(tmp_path, "s2")]
    assert parts == [("mic", 0, 1000), ("mic", 2000, 1000), ("system", 60_000, 1000)]


def test_a_stalled_writer_drops_audio_but_keeps_the_timeline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real_write = rec._Part.write

    def slow_write(self: rec._Part, pcm: bytes) -> None:
        gate.wait(10)
        real_write(self, pcm)

    monkeypatch.setattr(rec._Part, "write", slow_write)
    recorder = rec.Recorder(tmp_path, "s3", max_pending_ms=500)
    tap = recorder.tap("mic", 0)
    ramp = (np.arange(3000 * 16) % 1000).astype(np.int16).tobytes()  # 3 s
    _feed(tap, ramp)  # never blocks although the writer is stuck
    assert recorder.dropped_ms >= 2000
    gate.set()
    tap.finish()
    recorder.close()
    [(_s, _start, path)] = codec.audio_parts(tmp_path, "s3")
    back = rec.read_pcm(path)
    assert len(back) == len(ramp)  # dropped audio became silence of the same length
    assert back.endswith(bytes(BLOCK))


def test_a_disk_error_stops_the_recording_not_the_caller(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    recorder = rec.Recorder(blocker, "s4")
    tap = recorder.tap("mic", 0)
    _feed(tap, bytes(10 * BLOCK))
    tap.finish()
    recorder.close()
    assert "The recording stopped" in recorder.error
    assert codec.audio_parts(tmp_path, "s4") == []


def test_repair_completes_a_header_left_by_a_crash(tmp_path: Path, data_dir: Path) -> None:
    pcm = _speech(data_dir)
    path = tmp_path / "s5.mic.0.flac"
    data = rec.encode_flac(pcm)
    # what a killed writer leaves: header without length/MD5, frames up to the last complete one
    crashed = bytearray(data[: len(data) * 2 // 3])
    crashed[21] &= 0xF0  # STREAMINFO's 36-bit total samples: 0 = unknown
    crashed[22:26] = bytes(4)
    crashed[26:42] = bytes(16)  # and no MD5
    path.write_bytes(bytes(crashed))
    assert rec.needs_repair(path)
    partial = rec.read_pcm(path)
    assert 0 < len(partial) < len(pcm) and pcm.startswith(partial)
    assert rec.repair(path)
    assert not rec.needs_repair(path)
    assert rec.read_pcm(path) == partial


def _crashed_flac(path: Path, pcm: bytes) -> None:
    data = bytearray(rec.encode_flac(pcm))
    data[21] &= 0xF0
    data[22:42] = bytes(20)  # length unknown, no MD5: what a killed writer leaves
    path.write_bytes(bytes(data))


def test_retention_and_delete_take_the_recording_and_improved_version(tmp_path: Path) -> None:
    import os
    import time

    from captioner.transcript import Segment, store
    from captioner.transcript.improved import save_improved
    from tests.recorded import recorded_session

    old = recorded_session(tmp_path, [], [Segment("mic-1", "hello", 0, 500)])
    (tmp_path / f"{old.id}.mic.0.flac").write_bytes(rec.encode_flac(bytes(BLOCK)))
    save_improved(old.path, [Segment("mic-1", "Hello.", 0, 500)], {"id": old.id},
                  {"provider": "local"})
    keep = recorded_session(tmp_path, [], [Segment("mic-1", "recent", 0, 500)])
    (tmp_path / f"{keep.id}.system.0.flac").write_bytes(rec.encode_flac(bytes(BLOCK)))
    week_ago = time.time() - 7 * 86400
    os.utime(old.path, (week_ago, week_ago))
    assert {s.id for s in store.list_sessions(tmp_path)} == {keep.id, old.id}

    assert store.prune(tmp_path, keep_days=3) == [old.id]
    assert sorted(p.name for p in tmp_path.iterdir()) == [keep.path.name,
                                                         f"{keep.id}.system.0.flac"]
    assert store.delete_session(tmp_path, keep.id)
    assert list(tmp_path.iterdir()) == []


def test_recovering_a_crashed_session_completes_its_recording(tmp_path: Path,
                                                              data_dir: Path) -> None:
    from captioner.transcript import store

    session_id = "20261201-120000-abcd"
    journal = tmp_path / f"{session_id}.jsonl"
    journal.write_bytes(codec.encode_record({"type": "session", "version": 1, "id": session_id}))
    audio = tmp_path / f"{session_id}.mic.0.flac"
    _crashed_flac(audio, _speech(data_dir))
    [summary] = store.find_unfinished(tmp_path)
    assert summary.recorded and not summary.improved
    assert rec.needs_repair(audio)
    assert store.mark_recovered(journal)
    assert not rec.needs_repair(audio)
    assert rec.read_pcm(audio) == _speech(data_dir)


def test_a_full_disk_mid_recording_keeps_what_was_written(tmp_path: Path, data_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    real_write = rec._RawFile.write
    budget = {"bytes": 20_000}

    def filling_write(self: rec._RawFile, data: bytes) -> int:
        if budget["bytes"] < len(data):
            self.error = OSError(errno.ENOSPC, "No space left on device")
            return 0
        budget["bytes"] -= len(data)
        return real_write(self, data)

    monkeypatch.setattr(rec._RawFile, "write", filling_write)
    pcm = _speech(data_dir)
    recorder = rec.Recorder(tmp_path, "s6")
    tap = recorder.tap("mic", 0)
    _feed(tap, pcm)  # never raises
    tap.finish()
    recorder.close()
    assert recorder.error == ("The recording stopped: the disk is full. Captioning and the "
                              "transcript continue; what was recorded so far is kept.")
    [(_s, _start, path)] = codec.audio_parts(tmp_path, "s6")
    kept = rec.read_pcm(path)
    assert 0 < len(kept) < len(pcm) and pcm.startswith(kept)
