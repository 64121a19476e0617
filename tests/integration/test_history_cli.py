"""``captioner sessions`` and ``export``: a session left unfinished by a crash is recovered."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def captioner(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "CAPTIONER_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "captioner", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_unfinished_session_is_listed_and_exported_with_everything_shown(tmp_path):
    # an app process writes two finals and a gap, then dies without closing the journal
    child = f"""
import os
from captioner.transcript.journal import Journal
from captioner.transcript import Gap, Segment
journal = Journal.create({str(tmp_path / "sessions")!r}, {{"provider": "local", "language": "en"}})
journal.append_final(Segment("mic-1", "Good morning everyone.", 0, 1800))
journal.append_gap(Gap(1800, 4000, "mic", "connection lost"))
journal.append_final(Segment("system-2", "Thanks, can you hear me?", 4000, 6000,
                             source="system"))
journal.flush()  # the writer thread handed them to the OS (milliseconds after each append)
os._exit(9)
"""
    subprocess.run([sys.executable, "-c", child], cwd=REPO, check=False, timeout=60)

    listing = captioner("sessions", data_dir=tmp_path)
    assert listing.returncode == 0, listing.stderr
    row = listing.stdout.splitlines()[1]
    session_id = row.split()[0]
    assert "unfinished" in row and " 8 " in row  # 8 words

    out = tmp_path / "meeting.srt"
    result = captioner("export", session_id, "--format", "srt", "-o", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    srt = out.read_text()
    assert "Good morning everyone." in srt and "can you hear me?" in srt
    assert "not captioned" in srt  # the gap is marked
    again = captioner("sessions", data_dir=tmp_path)
    assert "recovered" in again.stdout.splitlines()[1]

    txt = captioner("export", session_id, data_dir=tmp_path)
    assert "Me: Good morning everyone." in txt.stdout
    assert "Others: Thanks, can you hear me?" in txt.stdout


def test_export_of_an_unknown_session_is_a_one_line_error(tmp_path):
    result = captioner("export", "20990101-000000-zzzz", data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("captioner: error: No saved session")


def test_no_sessions_says_where_it_looked(tmp_path):
    result = captioner("sessions", data_dir=tmp_path)
    assert result.returncode == 0 and "No saved sessions" in result.stdout


def test_sessions_lists_providers_used_hides_empty_ones_and_searches(tmp_path):
    from captioner.transcript import Segment
    from captioner.transcript.journal import Journal

    folder = tmp_path / "sessions"
    fell_back = Journal.create(folder, {"provider": "deepgram", "language": "en"})
    fell_back.append_final(Segment("mic-1", "The quarterly numbers.", 0, 1500))
    fell_back.note_provider("local", "fallback")
    fell_back.append_final(Segment("mic-2", "Are up again.", 1500, 3000))
    fell_back.close()
    other = Journal.create(folder, {"provider": "local", "language": "en"})
    other.append_final(Segment("mic-1", "Lunch at noon.", 0, 1500))
    other.close()
    Journal.create(folder, {"provider": "local", "language": "en"}).close()  # no words

    result = captioner("sessions", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1:]
    assert len(rows) == 2  # the empty one is not listed...
    assert "1 session with no words not shown" in result.stderr  # ...and that is said
    row = next(r for r in rows if r.startswith(fell_back.id))
    assert "Deepgram → Offline engine (fallback)" in row and row.endswith("complete")
    assert len(captioner("sessions", "--all", data_dir=tmp_path).stdout.splitlines()) == 4
    found = captioner("sessions", "--search", "quarterly", data_dir=tmp_path).stdout
    assert fell_back.id in found and other.id not in found
    none = captioner("sessions", "--search", "zebra", data_dir=tmp_path)
    assert none.returncode == 0 and "No saved sessions match 'zebra'" in none.stdout
