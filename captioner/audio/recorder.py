"""Recording a session: each source's 16 kHz mono audio into FLAC files beside its journal.

A :class:`Recorder` belongs to one session. Each stretch a source is recorded
(a run from start or resume to pause or stop, or from switching recording on
to switching it off) is one FLAC file, ``<id>.<source>.<start_ms>.flac``
(:func:`captioner.transcript.codec.audio_path`), whose name says where it
begins in session time, so a recording lines up with the transcript across
pauses.

Crash tolerance: FLAC is written through libsndfile (``soundfile``) to a file
opened unbuffered, so every encoded frame (4096 samples, 256 ms) reaches the
kernel as soon as it is complete; the header's length is filled in only on
close. A killed app leaves a file whose header says "length unknown", which
decoders (libsndfile, sox, ffmpeg) read to its last complete frame:
:func:`read_pcm` does, and :func:`repair` rewrites such a file with a complete
header. Files are fsynced at least once a second and are private (0600).

Threads: :class:`TappedBuffer` (the loop thread) hands each captured block to
:meth:`Recorder.write`, a deque append under a lock that never blocks; one
writer thread encodes and writes. When more than ``max_pending_ms`` of audio
waits (a stalled disk), new blocks are dropped and counted
(:attr:`Recorder.dropped_ms`), and the same length of silence is written once
the writer catches up, so the file stays aligned with the session's clock. A
disk error ends that file (what was written stays playable) and sets
:attr:`Recorder.error`; captioning is never affected.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from captioner.audio.buffer import AudioBuffer
from captioner.config import BYTES_PER_MS, SAMPLE_RATE_HZ
from captioner.transcript.codec import audio_path
from captioner.transcript.files import describe_os_error, write_atomic

log = logging.getLogger(__name__)

FSYNC_INTERVAL_S = 1.0
MAX_PENDING_MS = 30_000
_SILENCE = bytes(1000 * BYTES_PER_MS)  # 1 s
_READ_FRAMES = 16_384
_UNKNOWN_FRAMES = 1 << 62  # libsndfile's "length unknown" is SF_COUNT_MAX


def _soundfile() -> Any:
    import soundfile

    return soundfile


class _RawFile:
    """An unbuffered file for libsndfile's virtual I/O that remembers the first OS error.

    NB: libsndfile calls these from the writer thread through cffi; an
    exception escaping a callback would only be printed, so errors are kept
    and reported as a short write instead.
    """

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._f = open(fd, "r+b", buffering=0)
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        if self.error is not None or self._f.closed:
            return 0
        try:
            return self._f.write(data) or 0
        except OSError as exc:
            self.error = exc
            return 0

    def read(self, size: int = -1) -> bytes:
        return b"" if self._f.closed else self._f.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return -1 if self._f.closed else self._f.seek(offset, whence)

    def tell(self) -> int:
        return -1 if self._f.closed else self._f.tell()

    def fsync(self) -> None:
        if self.error is None:
            try:
                os.fsync(self._f.fileno())
            except OSError as exc:
                self.error = exc

    def close(self) -> None:
        self._f.close()


class _Part:
    """One FLAC file being written (writer thread only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = _RawFile(path)
        try:
            self.sf = _soundfile().SoundFile(self.raw, "w", samplerate=SAMPLE_RATE_HZ,
                                             channels=1, subtype="PCM_16", format="FLAC")
        except BaseException:
            self.raw.close()
            raise
        self.dirty = False

    def write(self, pcm: bytes) -> None:
        try:
            self.sf.buffer_write(pcm, dtype="int16")
        except AssertionError:  # soundfile asserts a full write; _RawFile has the reason
            pass
        if self.raw.error is not None:
            raise self.raw.error
        self.dirty = True

    def close(self) -> None:
        try:
            self.sf.close()  # completes the header (length, MD5)
            self.raw.fsync()
        finally:
            self.raw.close()


class Recorder:
    """Writes a session's audio, one FLAC file per source and stretch, in a writer thread.

    Args:
        folder: the session's folder (the journal's).
        session_id: the session (the files' prefix).
        max_pending_ms: audio allowed to wait for the writer before blocks are dropped.
        fsync_interval_s: the longest time between fsyncs of an open file.

    Attributes:
        enabled: whether taps record (any thread may switch it; the next
            block opens or closes the stretch).
        dropped_ms: audio not recorded because the writer fell behind (its
            length is written as silence).
        error: a sentence for the user once a file could not be written, else "".
        paths: every file started, in order.
        written_ms: per source, the audio handed to the encoder so far.
    """

    def __init__(self, folder: str | os.PathLike[str], session_id: str, *,
                 enabled: bool = True, max_pending_ms: int = MAX_PENDING_MS,
                 fsync_interval_s: float = FSYNC_INTERVAL_S) -> None:
        self.folder = Path(folder)
        self.session_id = session_id
        self.enabled = enabled
        self.max_pending_bytes = max_pending_ms * BYTES_PER_MS
        self.fsync_interval_s = fsync_interval_s
        self.dropped_ms = 0.0
        self.error = ""
        self.paths: list[Path] = []
        self.written_ms: dict[str, float] = collections.defaultdict(float)
        self._items: collections.deque[list[Any]] = collections.deque()
        self._pending_bytes = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"recorder-{session_id}",
                                        daemon=True)
        self._thread.start()

    # -- any thread ---------------------------------------------------------------------

    def tap(self, source: str, base_ms: int) -> SourceTap:
        """A tap for one source of a run whose audio starts at ``base_ms`` of session time."""
        return SourceTap(self, source, base_ms)

    def open_part(self, source: str, start_ms: int) -> None:
        """Start a new file for ``source`` at ``start_ms`` (ends its open one)."""
        self._enqueue(["open", source, int(start_ms)])

    def close_part(self, source: str) -> None:
        self._enqueue(["close", source, None])

    def write(self, source: str, pcm: bytes) -> None:
        """Queue 16 kHz mono s16le audio for ``source``'s open file; never blocks."""
        with self._cond:
            if self._stopping:
                return
            if self._pending_bytes + len(pcm) > self.max_pending_bytes:
                if not self.dropped_ms:
                    log.warning("recording: the disk is too slow; dropping audio")
                self.dropped_ms += len(pcm) / BYTES_PER_MS
                last = self._items[-1] if self._items else None
                if last is not None and last[0] == "silence" and last[1] == source:
                    last[2] += len(pcm)
                else:
                    self._items.append(["silence", source, len(pcm)])
            else:
                self._items.append(["pcm", source, pcm])
                self._pending_bytes += len(pcm)
            self._cond.notify_all()

    def wait_written(self, source: str, target_ms: float, timeout_s: float) -> bool:
        """Wait until ``target_ms`` of ``source`` reached the encoder (tests, tools)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.written_ms[source] >= target_ms
                                       or not self._thread.is_alive(), timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, finish every file and stop the writer thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("recording: the writer did not finish within %.0f s", timeout_s)

    def _enqueue(self, item: list[Any]) -> None:
        with self._cond:
            if not self._stopping:
                self._items.append(item)
                self._cond.notify_all()

    # -- writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        parts: dict[str, _Part | None] = {}
        last_fsync_s = time.monotonic()
        try:
            while True:
                with self._cond:
                    while not self._items and not self._stopping:
                        self._cond.wait(self.fsync_interval_s)
                        if any(p is not None and p.dirty for p in parts.values()):
                            break
                    items, self._items = self._items, collections.deque()
                    self._pending_bytes = 0
                    stopping = self._stopping
                for kind, source, value in items:
                    self._handle(parts, kind, source, value)
                now_s = time.monotonic()
                if now_s - last_fsync_s >= self.fsync_interval_s:
                    last_fsync_s = now_s
                    for source, part in list(parts.items()):
                        if part is not None and part.dirty:
                            part.dirty = False
                            part.raw.fsync()
                            if part.raw.error is not None:
                                self._fail(parts, source, part.raw.error)
                if stopping:
                    with self._cond:
                        if not self._items:
                            break
        finally:
            for source in list(parts):
                self._end(parts, source)

    def _handle(self, parts: dict[str, _Part | None], kind: str, source: str,
                value: Any) -> None:
        if kind == "open":
            self._end(parts, source)
            path = audio_path(self.folder, self.session_id, source, value)
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                parts[source] = _Part(path)
            except (OSError, RuntimeError) as exc:
                self._fail(parts, source, exc)
                return
            self.paths.append(path)
            log.info("recording %s to %s", source, path.name)
        elif kind == "close":
            self._end(parts, source)
        else:
            part = parts.get(source)
            if part is None:
                return
            try:
                if kind == "pcm":
                    part.write(value)
                else:
                    for pos in range(0, value, len(_SILENCE)):
                        part.write(_SILENCE[: min(len(_SILENCE), value - pos)])
            except OSError as exc:
                self._fail(parts, source, exc)
                return
            with self._cond:
                self.written_ms[source] += (len(value) if kind == "pcm" else value) / BYTES_PER_MS
                self._cond.notify_all()

    def _end(self, parts: dict[str, _Part | None], source: str) -> None:
        part = parts.pop(source, None)
        if part is None:
            return
        try:
            part.close()
        except (OSError, RuntimeError) as exc:
            log.warning("recording: closing %s failed: %s", part.path.name, exc)

    def _fail(self, parts: dict[str, _Part | None], source: str, exc: Exception) -> None:
        reason = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
        log.warning("recording %s stopped: %s", source, exc)
        self.error = (f"The recording stopped: {reason}. Captioning and the transcript "
                      "continue; what was recorded so far is kept.")
        part = parts.get(source)
        if part is not None:
            try:
                part.sf.close()  # NB: its header rewrite fails too: the file stays as it is
            except (OSError, RuntimeError, AssertionError):
                pass
            finally:
                part.raw.close()
        parts[source] = None  # later audio of this stretch is ignored


class SourceTap:
    """Feeds one source's blocks of one run to the recorder (loop thread).

    Opens a stretch on the first block while the recorder is enabled (at
    ``base_ms`` plus the audio seen so far) and closes it when disabled or at
    :meth:`finish`.

    Attributes:
        position_bytes: audio seen so far in this run.
    """

    def __init__(self, recorder: Recorder, source: str, base_ms: int) -> None:
        self.recorder = recorder
        self.source = source
        self.base_ms = base_ms
        self.position_bytes = 0
        self.recording = False

    def put(self, pcm: bytes) -> None:
        if self.recorder.enabled:
            if not self.recording:
                self.recording = True
                self.recorder.open_part(self.source,
                                        self.base_ms + self.position_bytes // BYTES_PER_MS)
            self.recorder.write(self.source, pcm)
        elif self.recording:
            self.finish()
        self.position_bytes += len(pcm)

    def finish(self) -> None:
        if self.recording:
            self.recording = False
            self.recorder.close_part(self.source)


class TappedBuffer(AudioBuffer):
    """An :class:`AudioBuffer` that also hands every block to a :class:`SourceTap`.

    The tap sees each block before the buffer may drop old ones for a slow
    sender, so the recording is complete even when captions fall behind.
    """

    def __init__(self, tap: SourceTap, max_ms: int = 30_000) -> None:
        super().__init__(max_ms)
        self.tap = tap

    def put(self, block: bytes) -> None:
        if not self.closed and block:
            self.tap.put(block)
        super().put(block)

    def close(self) -> None:
        self.tap.finish()
        super().close()


# -- reading back -------------------------------------------------------------------------


def read_pcm(path: str | os.PathLike[str]) -> bytes:
    """A recording as 16 kHz mono s16le, up to its last complete frame.

    A frame torn by a crash at the end of the file is left out.

    Raises:
        OSError: the file can't be read.
        ValueError: it is not a 16 kHz mono recording (or not audio at all).
    """
    sf = _soundfile()
    name = Path(path).name
    chunks: list[bytes] = []
    try:
        f = sf.SoundFile(os.fspath(path))
    except sf.LibsndfileError as exc:
        if not Path(path).exists():
            raise FileNotFoundError(str(path)) from exc
        raise ValueError(f"{name} can't be decoded: {exc}") from exc
    with f:
        if f.samplerate != SAMPLE_RATE_HZ or f.channels != 1:
            raise ValueError(f"{name} is not a 16 kHz mono recording")
        # WORKAROUND python-soundfile seeks after every read (SoundFile._cdata_io,
        # bastibe/python-soundfile#274), which libsndfile refuses near the end of a FLAC
        # stream whose header lacks its length ("Internal psf_fseek() failed"), losing
        # the last read; libsndfile's own read goes to the last complete frame.
        buf = sf._ffi.new("short[]", _READ_FRAMES)
        while True:
            frames = sf._snd.sf_readf_short(f._file, buf, _READ_FRAMES)
            if frames <= 0:
                break
            chunks.append(bytes(sf._ffi.buffer(buf, frames * 2)))
    return b"".join(chunks)


def duration_ms(path: str | os.PathLike[str]) -> int:
    """A recording's length (decoding it if a crash left its header without one)."""
    sf = _soundfile()
    try:
        info = sf.info(os.fspath(path))
    except sf.LibsndfileError as exc:
        raise ValueError(f"{Path(path).name} can't be decoded: {exc}") from exc
    if 0 < info.frames < _UNKNOWN_FRAMES:
        return int(info.frames * 1000 // info.samplerate)
    return len(read_pcm(path)) // BYTES_PER_MS


def needs_repair(path: str | os.PathLike[str]) -> bool:
    """Whether a crash left the file's header without its length."""
    sf = _soundfile()
    try:
        return sf.info(os.fspath(path)).frames >= _UNKNOWN_FRAMES
    except sf.LibsndfileError:
        return False


def encode_flac(pcm: bytes) -> bytes:
    """16 kHz mono s16le as a complete FLAC file's bytes."""
    import io

    sf = _soundfile()
    out = io.BytesIO()
    with sf.SoundFile(out, "w", samplerate=SAMPLE_RATE_HZ, channels=1, subtype="PCM_16",
                      format="FLAC") as f:
        f.buffer_write(pcm, dtype="int16")
    return out.getvalue()


def repair(path: str | os.PathLike[str]) -> bool:
    """Rewrite a recording a crash left unfinished, with a complete header.

    The audio up to the last complete frame is kept; the file is replaced
    atomically. Returns True if it was rewritten.

    Raises:
        ExportError: the file can't be replaced (message for the user).
    """
    if not needs_repair(path):
        return False
    try:
        pcm = read_pcm(path)
    except (OSError, ValueError) as exc:
        log.warning("can't repair %s: %s", Path(path).name, exc)
        return False
    write_atomic(path, encode_flac(pcm))
    log.info("repaired the recording %s (%d ms)", Path(path).name, len(pcm) // BYTES_PER_MS)
    return True
