"""How fast each vendor lets the stream send a backlog after a reconnect, how it catches up,
and whether a session-cap rollover may overlap two sessions.

After a drop the stream holds the audio no final covered yet plus what was
captured during the outage. It sends that backlog faster than real time where
the vendor allows it, and where the backlog can't be absorbed within
:data:`CATCH_UP_BUDGET_S` it skips the oldest part as a marked gap ("skipped to
stay live") — unless the user chose :data:`COMPLETE`, which catches up at the
vendor's pace however long that takes.

What each vendor allows (checked 2026-12-01; sources in
``shared/reference/realtime-protocols.md`` and the pages named below):

* **Speechmatics** — no rate rule; the server acknowledges every frame with
  ``AudioAdded`` and "sending far faster than real time fills buffers and can
  get the connection closed" [S1]: paced by acks (at most
  ``VendorStream.max_unacked_frames`` in flight), no wall-clock limit. Two
  sessions may overlap ("open the new session a few seconds before closing the
  old one" [S6]).
* **AssemblyAI** — real time only: audio sent faster is closed with 3007
  "Audio Transmission Rate Exceeded" (v3; legacy 4029 "Client sent audio too
  fast") [A1][A8][A12], and the guide "Stream a pre-recorded file in real time"
  (assemblyai.com/docs/streaming/guides/stream_prerecorded_file_realtime) says
  to pace at 1×. A backlog can't be absorbed: in "stay live" it is skipped.
  Limits are on new sessions per minute, not concurrency [A10], so sessions
  may overlap.
* **Rev AI** — no documented rate limit or close code for fast audio; billing
  is "the larger of stream duration and audio duration" (help.rev.ai
  "Streaming API best practices"), i.e. audio ahead of the clock is accepted
  and billed. The SDK examples send in real time [R4][R5], so we catch up at a
  moderate 3×. Rev recommends opening "a new concurrent WebSocket connection"
  before the 3-hour cap and switching to it (docs.rev.ai tutorial "Recover from
  connection errors and timeouts", 2022): overlap allowed.
* **Deepgram** — no documented rate rule or close code for fast audio
  (``/v1/listen`` reference; the recovery guide "Recovering From Connection
  Errors & Timeouts When Live Streaming" asks clients to buffer and resend
  audio after a reconnect). Checked 2026-12-02: 2× is what Deepgram's own
  Python SDK does against the live service every night
  (``tests/daily_test/test_daily_listen_websocket.py``, commit 1200c832:
  4096-sample chunks of 8 kHz audio, 0.512 s each, every 0.25 s = 2.05×), and
  its README's streaming example sends a whole file in one ``send``; so 2×
  is verified as accepted (faster likely is too, not relied on). No session
  cap documented, so no rollover.
* **Offline engine** (``local``) — our own Speechmatics-protocol server, paced
  by acks only.

Session caps and concurrent sessions (checked 2026-12-02), which decide
whether a rollover may open the next session before closing the current one
(:mod:`captioner.rollover`; the fakes in ``captioner/testing`` enforce both):

* **Rev AI** — "Time limit per stream is 3 hours", "Streaming concurrency limit
  is 10" (docs.rev.ai/api/streaming, "API limits"; FAQ), and "when your stream
  approaches the 3-hour limit, you should initialize a new concurrent
  WebSocket connection … switch to the new WebSocket" (FAQ): overlap. How a
  connection beyond the limit is refused is not documented (the fake closes
  4013, the self-hosted server's "Try Again Later"); nor the close at the cap.
* **AssemblyAI** — 3 h (close 3008 "Session Expired: Maximum session duration
  exceeded", or less with a temporary token's ``max_session_duration_seconds``);
  no cap on open sessions, only on *new sessions per minute* (5 free, 100+
  paid; beyond it 3009/1008 "Too many concurrent sessions") —
  assemblyai.com/docs/streaming/concurrency, …/common-session-errors-and-closures:
  overlap (a rollover opens one session).
* **Speechmatics** — 48 h, then an in-band ``Error`` and close 1008; 2 concurrent
  sessions on Free, 50 on Pro (``Error`` ``quota_exceeded``, close 4005); "if
  seamless transition is required, the new session can be connected a few
  seconds before disconnecting the old session"
  (docs.speechmatics.com/speech-to-text/realtime/limits): overlap. On Free
  with both sources captioned the second session is refused; the stream then
  rolls over sequentially (ack-paced, so it catches up at once).
* **Deepgram** — no session cap documented, so no rollover; 50 concurrent
  streams on Pay as You Go / Growth, HTTP 429 beyond
  (developers.deepgram.com/reference/api-rate-limits).
* Vendors not listed (and any stream not fed in real time, i.e. a file sent as
  fast as allowed) keep the sequential rollover: end the session, replay the
  audio no final covered and catch up as after a drop.
"""

from __future__ import annotations

from dataclasses import dataclass

STAY_LIVE = "live"
COMPLETE = "complete"
CATCH_UP_MODES = (STAY_LIVE, COMPLETE)
#: after a reconnect, the backlog must be absorbed within this many seconds
#: (the vendor's own latency comes on top; the target is "within 1 s of live
#: no later than 10 s after the connection is back")
CATCH_UP_BUDGET_S = 7.0


@dataclass(frozen=True)
class Pace:
    """A vendor's pacing rules.

    Attributes:
        live_speed: audio seconds per wall second for ordinary audio (None: no limit).
        catchup_speed: the same while a backlog is sent (None: no wall-clock
            limit; acks pace it).
        overlap: whether two sessions may run at once (a rollover opens the next
            session before closing the current one).
    """

    live_speed: float | None
    catchup_speed: float | None
    overlap: bool = True


PACES: dict[str, Pace] = {
    "speechmatics": Pace(live_speed=None, catchup_speed=None),
    "local": Pace(live_speed=None, catchup_speed=None),
    "assemblyai": Pace(live_speed=1.0, catchup_speed=1.0),
    "revai": Pace(live_speed=1.0, catchup_speed=3.0),
    "deepgram": Pace(live_speed=1.0, catchup_speed=2.0),
}


def pace_for(name: str, realtime_only: bool = True) -> Pace:
    """The vendor's :class:`Pace`; unknown providers get real time (or no limit)."""
    if name in PACES:
        return PACES[name]
    speed = 1.0 if realtime_only else None
    return Pace(live_speed=speed, catchup_speed=speed, overlap=False)


def absorbable_ms(pace: Pace, budget_s: float = CATCH_UP_BUDGET_S) -> float | None:
    """How much backlog can be caught up within ``budget_s`` while live audio keeps coming.

    None: no wall-clock limit (ack-paced vendors).
    """
    if pace.catchup_speed is None:
        return None
    return max(0.0, budget_s * 1000 * (pace.catchup_speed - 1.0))
