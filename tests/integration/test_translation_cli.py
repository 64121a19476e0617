"""``captioner transcribe --translate`` and ``captioner export --language`` as a user runs them,
against the Speechmatics protocol fake on 127.0.0.1 (run on its own loop in a thread)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from captioner.testing import Utterance
from captioner.testing.fake_speechmatics import FakeSpeechmatics
from captioner.transcript import store
from tests.conftest import DATA, REPO

SPEECH = [Utterance("Hello everyone.", 200, 1400), Utterance("Thanks for coming.", 1600, 2800)]
BOOK = {"es": {"Hello everyone.": "Hola a todos.", "Thanks for coming.": "Gracias por venir."},
        "de": {"Hello everyone.": "Hallo zusammen.", "Thanks for coming.": "Danke fürs Kommen."}}


@contextmanager
def fake_in_thread(utterances: list[Utterance] = SPEECH,
                   **kwargs: object) -> Iterator[FakeSpeechmatics]:
    """The Speechmatics fake on its own loop in a thread, for a client in another process."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    server = FakeSpeechmatics(utterances, **kwargs)  # type: ignore[arg-type]

    async def serve() -> None:
        async with server:
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(10), "the fake did not start"
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def captioner(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "CAPTIONER_DATA_DIR": str(data_dir), "SPEECHMATICS_API_KEY": "test-key",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    return subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_transcribe_translates_and_writes_one_caption_file_per_language(tmp_path) -> None:
    with fake_in_thread(phrasebook=BOOK) as server:
        out = tmp_path / "talk.srt"
        result = captioner("transcribe", str(DATA / "librivox-0870.wav"), "--provider",
                           "speechmatics", "--endpoint", server.url, "--translate", "es,de",
                           "--format", "srt", "-o", str(out), data_dir=tmp_path)
        assert result.returncode == 0, result.stderr
        [log] = server.connections
        assert log.config is not None
        assert log.config["translation_config"] == {"target_languages": ["es", "de"],
                                                    "enable_partials": True}
    assert "[es] Hola a todos." in result.stdout  # printed live under the captions
    assert "Hello everyone." in out.read_text()
    spanish = (tmp_path / "talk.es.srt").read_text()
    assert "Hola a todos." in spanish and "Gracias por venir." in spanish
    assert "Danke fürs Kommen." in (tmp_path / "talk.de.srt").read_text()


def test_transcribe_refuses_a_bad_choice_before_connecting(tmp_path) -> None:
    for args, wanted in [(("--translate", "es,de,fr"), "at most 2"),
                         (("--language", "de", "--translate", "es"), "can't translate German"),
                         (("--provider", "deepgram", "--translate", "es"), "does not translate")]:
        result = captioner("transcribe", str(DATA / "librivox-0870.wav"), "--provider",
                           "speechmatics", *args, data_dir=tmp_path)
        assert result.returncode == 2, result.stderr
        assert wanted in result.stderr.splitlines()[-1]


def test_export_writes_a_saved_sessions_translation(tmp_path) -> None:
    from captioner.transcript import Segment, Translation
    from captioner.transcript.journal import Journal

    journal = Journal.create(tmp_path / "sessions", {"provider": "speechmatics",
                                                     "language": "en"})
    journal.append_final(Segment("mic-1", "Hello everyone.", 0, 1500))
    journal.append_translation(Translation("es", "Hola a todos.", 0, 1500))
    journal.close()
    session_id = journal.id

    es = captioner("export", session_id, "--format", "vtt", "--language", "es",
                   data_dir=tmp_path)
    assert es.returncode == 0, es.stderr
    assert es.stdout.startswith("WEBVTT") and "Hola a todos." in es.stdout
    assert "Hello" not in es.stdout

    both = captioner("export", session_id, "--format", "srt", "-o", str(tmp_path / "t.srt"),
                     data_dir=tmp_path)
    assert both.returncode == 0, both.stderr
    assert "Hola a todos." in (tmp_path / "t.es.srt").read_text()

    txt = captioner("export", session_id, data_dir=tmp_path)
    assert txt.stdout == "Hello everyone.\n    [es] Hola a todos.\n"

    missing = captioner("export", session_id, "--language", "fr", data_dir=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f"captioner: error: Session {session_id} has no "
                                      "translation into fr; it has es.")
    doc = json.loads(captioner("export", session_id, "--format", "json",
                               data_dir=tmp_path).stdout)
    assert doc["translations"][0]["text"] == "Hola a todos."
    assert store.load_session(journal.path).translations
