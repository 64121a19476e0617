"""What happens to bad input, kills and a greedy engine client, measured; prints JSON.

The figures of README's "Robustness" table. For each case it runs the real
``captioner`` command in a child process and records the exit code, the lines
on stderr (the first one), the wall time and the child's peak RSS:

* every bad WAV of ``tests/integration/test_bad_input.py`` (1 Hz, 0 channels,
  rate 0 or 4e9, 0 frames, 0.1 s, empty, truncated, a folder, a FIFO);
* endpoints and ports that can never work; ``export`` to ``/dev/full`` (as a
  file and as stdout) and with a FIFO in the sessions folder;
* ``transcribe FILE --realtime`` killed by SIGKILL, SIGTERM and SIGHUP after
  its second printed final: printed finals found again by ``export``, exit
  code, and whether a ``captioner serve`` outlived it;
* the engine server under the max-sessions bypass (connections that stay after
  ``EndOfStream`` with ``SetRecognitionConfig``) and 200k-deep nested JSON.

Run from the repository root: ``.venv/bin/python bench/robustness.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration.test_bad_input import BAD_FILES, WRAPPER  # noqa: E402
from tests.lifecycle import Lines, engine_children, recovered_text, speech_wav  # noqa: E402


def measured(*args: str, env: dict[str, str], stdout_path: str | None = None) -> dict:
    """Run ``captioner ARGS``; its exit code, stderr lines, seconds and peak RSS.

    With ``stdout_path`` its stdout goes there (and the RSS is not measured).
    """
    t0 = time.monotonic()
    full_env = {**os.environ, **env}
    if stdout_path:
        with open(stdout_path, "w") as stdout:
            result = subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO,
                                    stdout=stdout, stderr=subprocess.PIPE, text=True,
                                    timeout=120, env=full_env, stdin=subprocess.DEVNULL)
        rss_kb = None
    else:
        result = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m",
                                 "captioner", *args], cwd=REPO, capture_output=True, text=True,
                                timeout=120, env=full_env, stdin=subprocess.DEVNULL)
        rss_kb = int(result.stdout.strip().splitlines()[-1])
    seconds = time.monotonic() - t0
    lines = result.stderr.strip().splitlines()
    return {"exit": result.returncode, "stderr_lines": len(lines),
            "message": lines[0] if lines else "", "seconds": round(seconds, 2),
            "peak_rss_mb": round(rss_kb / 1024, 1) if rss_kb else None,
            "traceback": "Traceback" in result.stderr}


def bad_files(tmp: Path) -> dict:
    out = {}
    for name, (make, _expected) in BAD_FILES.items():
        case = tmp / name.replace(" ", "_").replace(",", "")
        case.mkdir()
        path = make(case / "bad.wav")
        out[name] = measured("transcribe", str(path), env={"CAPTIONER_DATA_DIR": str(case)})
    return out


def bad_endpoints(tmp: Path) -> dict:
    env = {"CAPTIONER_DATA_DIR": str(tmp / "endpoints")}
    cases = {f"--endpoint {e}": ("transcribe", "--source", "mic", "--endpoint", e)
             for e in ("ws://127.0.0.1:99999", "ws://[::1", "ftp://example.org/v2")}
    cases["serve --port 80000"] = ("serve", "--port", "80000")
    return {name: measured(*args, env=env) for name, args in cases.items()}


def exports(tmp: Path) -> dict:
    from captioner.transcript.journal import Journal
    from captioner.transcript.model import Segment

    data = tmp / "exports"
    journal = Journal.create(data / "sessions", {"provider": "local", "language": "en"})
    journal.append_final(Segment("mic-1", "A line to export.", 0, 1500))
    journal.close()
    os.mkfifo(data / "sessions" / "20261201-000000-fifo.jsonl")
    env = {"CAPTIONER_DATA_DIR": str(data)}
    return {
        "export -o /dev/full": measured("export", journal.id, "-o", "/dev/full", env=env),
        "export > /dev/full": measured("export", journal.id, env=env, stdout_path="/dev/full"),
        "sessions with a FIFO *.jsonl": measured("sessions", env=env),
    }


def kills(tmp: Path) -> dict:
    wav = speech_wav(tmp / "speech.wav")
    out = {}
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP):
        data = tmp / f"kill-{sig.name}"
        env = {"CAPTIONER_DATA_DIR": str(data)}
        proc = subprocess.Popen([sys.executable, "-m", "captioner", "transcribe", str(wav),
                                 "--realtime", "-o", str(data / "out.txt")], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **env}, stdin=subprocess.DEVNULL)
        stdout = Lines(proc.stdout)  # type: ignore[arg-type]
        Lines(proc.stderr)  # type: ignore[arg-type]
        stdout.wait_lines(2, 120)
        t0 = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(60)
        exit_s = time.monotonic() - t0
        printed = [line.strip() for line in stdout.rest().splitlines() if line.strip()]
        deadline = time.monotonic() + 10
        while engine_children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        text = recovered_text(env)
        out[sig.name] = {"exit": code, "seconds_to_exit": round(exit_s, 2),
                         "printed_finals": len(printed),
                         "recovered_finals": sum(line in text for line in printed),
                         "output_file_written": (data / "out.txt").exists(),
                         "engine_survivors": len(engine_children(proc.pid))}
    return out


def engine_server() -> dict:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from captioner.engine.server import EngineServer

    class Silent:
        def accept(self, pcm: bytes) -> list:
            return []

        def finish(self) -> list:
            return []

    start = json.dumps({"message": "StartRecognition",
                        "audio_format": {"type": "raw", "encoding": "pcm_s16le",
                                         "sample_rate": 16000},
                        "transcription_config": {"language": "en"}})

    async def bypass(url: str, server: EngineServer) -> dict:
        held, refused, peak = [], 0, 0
        for _ in range(100):
            ws = await connect(url)
            try:
                await ws.send(start)
                reply = json.loads(await ws.recv())
            except ConnectionClosed:
                refused += 1
                continue
            if reply["message"] == "Error":
                refused += 1
                await ws.close()
                continue
            await ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": 0}))
            await ws.recv()
            await ws.send(json.dumps({"message": "SetRecognitionConfig"}))
            held.append(ws)
            peak = max(peak, server.active_sessions)
        threads = sum(t.name.startswith("engine-session") for t in threading.enumerate())
        for ws in held:
            await ws.close()
        return {"connections": 100, "max_sessions": server.max_sessions, "served": len(held),
                "refused": refused, "peak_sessions": peak, "session_threads": threads}

    async def nested(url: str) -> dict:
        async with connect(url) as ws:
            await ws.send(start)
            await ws.recv()
            await ws.send("[" * 200_000 + "]" * 200_000)
            reply = json.loads(await ws.recv())
            try:
                await ws.recv()
            except ConnectionClosed:
                pass
            return {"reply": f"{reply['message']} {reply.get('type')}",
                    "close_code": ws.close_code}

    async def main() -> dict:
        server = EngineServer(lambda _settings: Silent(), max_sessions=4)
        url = await server.start()
        try:
            return {"bypass": await bypass(url, server), "nested_json": await nested(url)}
        finally:
            await server.close()

    return asyncio.run(main())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="captioner-robustness-") as name:
        tmp = Path(name)
        report = {"bad_files": bad_files(tmp), "bad_endpoints": bad_endpoints(tmp),
                  "exports": exports(tmp), "kills": kills(tmp),
                  "engine_server": engine_server(),
                  "load_average": os.getloadavg()[0]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
