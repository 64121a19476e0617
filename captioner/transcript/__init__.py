"""Everything about a session's transcript, with no Qt: the model, files on disk, exports.

Modules, by what they hold:

* :mod:`.model` — :class:`Segment`, :class:`Gap`, :class:`Transcript` (pure, in memory);
* :mod:`.codec` — segments and gaps to and from JSON-ready dicts (journal and JSON export);
* :mod:`.speakers` — display labels ("Me", "Others", "Speaker 2");
* :mod:`.lines` — caption lines: consecutive finals of one sentence read as one line;
* :mod:`.cues` — splitting finals into timed caption cues (SRT, WebVTT);
* :mod:`.txt`, :mod:`.srt`, :mod:`.vtt`, :mod:`.jsonfile` — one export format each;
* :mod:`.export` — dispatch on a format name and write a file;
* :mod:`.files` — checked, atomic file writes shared by exports and the store;
* :mod:`.journal` — the crash-safe, append-only journal of a session being captioned;
* :mod:`.store` — saved sessions read back: list, load, recover, delete, prune.

The model's names are re-exported here, as they are what most callers need.
"""

from captioner.transcript.model import (
    SOURCE_LABELS,
    SOURCES,
    Change,
    Gap,
    Segment,
    Transcript,
    Translation,
)

__all__ = ["SOURCE_LABELS", "SOURCES", "Change", "Gap", "Segment", "Transcript", "Translation"]
