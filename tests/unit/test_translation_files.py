"""Live translations on disk and in exports: journal round trip, old journals, file per language."""

from __future__ import annotations

import json

from captioner.transcript import Gap, Segment, Transcript, Translation
from captioner.transcript import export as exporter
from captioner.transcript.codec import translation_from_dict, translation_to_dict
from captioner.transcript.journal import Journal
from captioner.transcript.jsonfile import from_json, translations_from_json
from captioner.transcript.store import load_session

SEGMENTS = [Segment("mic-1", "Hello everyone.", 0, 1500),
            Segment("mic-2", "How are you today?", 2000, 3500)]
TRANSLATIONS = [Translation("es", "Hola a todos.", 0, 1500),
                Translation("de", "Hallo zusammen.", 0, 1500, speaker="S1"),
                Translation("es", "¿Cómo estáis hoy?", 2000, 3500)]


def transcript() -> Transcript:
    t = Transcript()
    for seg in SEGMENTS:
        t.add_final(seg)
    for tr in TRANSLATIONS:
        t.add_translation(tr)
    t.add_gap(Gap(3500, 6000, "mic", "connection lost"))
    return t


def test_translation_dict_round_trip() -> None:
    for tr in TRANSLATIONS:
        assert translation_from_dict(json.loads(json.dumps(translation_to_dict(tr)))) == tr


def test_journal_keeps_translations_and_the_store_reads_them_back(tmp_path) -> None:
    journal = Journal.create(tmp_path, {"provider": "speechmatics", "language": "en",
                                        "translate_to": ["es", "de"]})
    journal.append_final(SEGMENTS[0])
    journal.append_translation(TRANSLATIONS[0])
    journal.append_translation(TRANSLATIONS[1])
    journal.append_final(SEGMENTS[1])
    journal.append_translation(TRANSLATIONS[2])
    journal.close()
    record = load_session(journal.path)
    assert record.translations == tuple(TRANSLATIONS)
    assert record.meta["translate_to"] == ["es", "de"]
    back = record.transcript()
    assert back.translations == tuple(sorted(TRANSLATIONS, key=lambda t: t.start_ms))
    assert exporter.languages(record) == ["es", "de"]


def test_an_old_journal_without_translations_still_loads(tmp_path) -> None:
    path = tmp_path / "20261101-100000-ab12.jsonl"
    lines = [{"type": "session", "version": 1, "id": "20261101-100000-ab12",
              "provider": "local", "language": "en", "sources": ["mic"]},
             {"type": "final", "id": "mic-1", "text": "Hi.", "start_ms": 0, "end_ms": 500,
              "speaker": None, "source": "mic", "words": []},
             {"type": "end", "duration_ms": 500, "word_count": 1}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    record = load_session(path)
    assert record.translations == () and len(record.segments) == 1
    assert exporter.export(record, "txt") == "Hi.\n"
    assert exporter.languages(record) == []


def test_a_malformed_translation_line_is_skipped(tmp_path) -> None:
    journal = Journal.create(tmp_path, {})
    journal.append_final(SEGMENTS[0])
    journal._append({"type": "translation", "language": "es"})  # no text or times
    journal.append_translation(TRANSLATIONS[0])
    journal.close()
    record = load_session(journal.path)
    assert record.translations == (TRANSLATIONS[0],) and record.skipped_lines == 1


def test_txt_shows_each_translation_under_its_line() -> None:
    assert exporter.export(transcript(), "txt", timestamps=True) == (
        "[00:00:00] Hello everyone.\n"
        "               [es] Hola a todos.\n"
        "               [de] Hallo zusammen.\n"
        "[00:00:02] How are you today?\n"
        "               [es] ¿Cómo estáis hoy?\n"
        "[00:00:03] [… 2 s of audio not captioned …]\n"
    )


def test_json_carries_translations_per_segment_and_with_their_times() -> None:
    text = exporter.export(transcript(), "json")
    doc = json.loads(text)
    assert doc["segments"][0]["translations"] == {"es": "Hola a todos.", "de": "Hallo zusammen."}
    assert doc["segments"][1]["translations"] == {"es": "¿Cómo estáis hoy?"}
    assert translations_from_json(text) == sorted(TRANSLATIONS, key=lambda t: t.start_ms)
    segs, _gaps, _meta = from_json(text)
    assert [s.text for s in segs] == [s.text for s in SEGMENTS]


def test_json_without_translations_is_unchanged() -> None:
    t = Transcript()
    t.add_final(SEGMENTS[0])
    doc = json.loads(exporter.export(t, "json"))
    assert "translations" not in doc and "translations" not in doc["segments"][0]


def test_one_caption_file_per_language(tmp_path) -> None:
    written = exporter.export_files(transcript(), tmp_path / "talk.srt", meta={"language": "en"})
    assert [p.name for p in written] == ["talk.srt", "talk.es.srt", "talk.de.srt"]
    spoken = (tmp_path / "talk.srt").read_text()
    spanish = (tmp_path / "talk.es.srt").read_text()
    german = (tmp_path / "talk.de.srt").read_text()
    assert "Hello everyone." in spoken and "Hola" not in spoken
    assert spanish.startswith("1\n00:00:00,000 --> ")
    assert "Hola a todos." in spanish and "¿Cómo estáis hoy?" in spanish
    assert "Hello" not in spanish and "not captioned" in spanish  # the gap is marked in each
    assert "Hallo zusammen." in german and "Hola" not in german
    vtt = exporter.export_files(transcript(), tmp_path / "talk.vtt")
    assert [p.name for p in vtt] == ["talk.vtt", "talk.es.vtt", "talk.de.vtt"]
    assert (tmp_path / "talk.es.vtt").read_text().startswith("WEBVTT")


def test_txt_and_json_stay_one_file(tmp_path) -> None:
    for fmt in ("txt", "json"):
        assert exporter.export_files(transcript(), tmp_path / f"t.{fmt}") == [
            tmp_path / f"t.{fmt}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.txt"]


def test_export_one_language_in_any_format() -> None:
    t = transcript()
    assert exporter.export(t, "txt", language="es") == (
        "Hola a todos.\n¿Cómo estáis hoy?\n[… 2 s of audio not captioned …]\n")
    doc = json.loads(exporter.export(t, "json", language="de", meta={"language": "en"}))
    assert doc["meta"]["language"] == "de"
    assert [s["text"] for s in doc["segments"]] == ["Hallo zusammen."]
    assert exporter.translated_path("/x/My talk.final.srt", "es").name == "My talk.final.es.srt"
