"""Provider interface and the events every provider's ``parse()`` yields.

A provider module turns one vendor's wire protocol into these frozen events.
It is pure: it builds the handshake, frames audio, parses frames and
classifies close codes, and never touches a socket (``stream.py`` does).
Implementers subclass :class:`Provider`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from captioner.vendors import title as vendor_title


@dataclass(frozen=True)
class Word:
    """One recognised word, times in ms from the start of the vendor session."""

    text: str
    start_ms: int
    end_ms: int
    confidence: float | None = None
    speaker: str | None = None


@dataclass(frozen=True)
class Started:
    """The vendor accepted the session and is ready for audio."""

    session_id: str = ""


@dataclass(frozen=True)
class Partial:
    """Text that may still change; replaces the previous partial.

    ``key`` identifies the utterance for vendors that revise a turn (AssemblyAI's
    ``turn_order``); it is informational for the transcript. ``language`` is the
    language the vendor recognised it in, when it says (a code: ``"es"``).
    """

    text: str
    start_ms: int
    end_ms: int
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    key: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Final:
    """Fixed text; appended to the transcript and never changed (fields as :class:`Partial`)."""

    text: str
    start_ms: int
    end_ms: int
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    key: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class TranslationEvent:
    """Live translation of recent speech into one target language.

    Translations arrive separately from, and later than, the finals they
    translate; they are tied to those finals by time.

    Attributes:
        language: the target language code (``"es"``).
        text: the translated words.
        start_ms, end_ms: the span of source audio it translates.
        speaker: the vendor's speaker label, if any.
    """

    language: str
    text: str
    start_ms: int
    end_ms: int
    speaker: str | None = None


@dataclass(frozen=True)
class PartialTranslation(TranslationEvent):
    """A translation that may still change; replaces its language's previous partial."""


@dataclass(frozen=True)
class FinalTranslation(TranslationEvent):
    """A fixed translation (usually one sentence); appended and never changed."""


@dataclass(frozen=True)
class Warning:  # the event name is fixed by design.md
    """A non-fatal notice from the vendor (idle timeout coming, etc.)."""

    message: str
    code: str = ""


@dataclass(frozen=True)
class VendorError:
    """The vendor reported an error; usually the session ends after it."""

    message: str
    code: str = ""
    fatal: bool = True


@dataclass(frozen=True)
class Ended:
    """The vendor confirmed end of stream: every final has been delivered."""


Event = Started | Partial | Final | TranslationEvent | Warning | VendorError | Ended


class CloseKind(enum.Enum):
    """How the session reacts to a closed connection."""

    NORMAL = "normal"  # expected end, nothing to do
    RETRY = "retry"  # transient: reconnect with backoff
    FATAL = "fatal"  # do not reconnect (bad key, bad config, quota)


@dataclass(frozen=True)
class CloseVerdict:
    """A classified close: what to do and what to tell the user."""

    kind: CloseKind
    message: str = ""
    retry_after_s: float = 0.0


@dataclass(frozen=True)
class Handshake:
    """What opening a vendor session takes.

    Attributes:
        url: the WebSocket URL, possibly with a query string (never logged).
        headers: extra HTTP headers for the upgrade request (auth lives here).
        first_message: a text frame to send right after connecting, or None.
        wait_for_started: whether audio must wait for a ``Started`` event.
    """

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    first_message: str | None = None
    wait_for_started: bool = False


class Provider:
    """One vendor's protocol, without sockets; subclasses implement the five wire methods.

    A fresh instance serves one vendor connection. ``handshake`` may block (a
    temporary-token request); the stream calls it in a worker thread. The
    optional hooks below have defaults that fit a vendor without the feature,
    so the stream calls them all unconditionally.

    Attributes:
        name: the vendor's id in :data:`captioner.vendors.VENDORS`.
        title: its name in messages (set from the vendor table for each subclass).
        max_speed: audio seconds per wall second allowed (None: unlimited).
        max_session_s: the vendor's session cap; the stream rolls over before it.
        unreachable_message: what to say when the host can't be reached (None:
            the stream's generic line).
    """

    name: str = ""
    #: the vendor's name in messages ("AssemblyAI"), from the vendor table unless set
    title: str = ""
    max_speed: float | None = 1.0
    max_session_s: float | None = None
    unreachable_message: str | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "title" not in cls.__dict__:
            cls.title = vendor_title(cls.name)

    # -- the wire (every provider) ------------------------------------------------

    def handshake(self, secret: str | None) -> Handshake:
        raise NotImplementedError

    def frame_audio(self, pcm: bytes) -> list[bytes]:
        raise NotImplementedError

    def parse(self, raw: str | bytes) -> list[Event]:
        raise NotImplementedError

    def end_of_stream(self) -> str | None:
        raise NotImplementedError

    def classify_close(self, code: int | None, reason: str) -> CloseVerdict:
        raise NotImplementedError

    # -- optional hooks -------------------------------------------------------------

    def flush_audio(self) -> list[bytes]:
        """Frames still held back at end of input (sent before :meth:`finalize_message`)."""
        return []

    def finalize_message(self) -> str | None:
        """Sent at end of input before :meth:`end_of_stream`, so the words said so far
        become final at once (AssemblyAI's ``ForceEndpoint``); None: nothing to send."""
        return None

    def keepalive_message(self) -> str | None:
        """Sent while no audio flows (paused, silent device); None: nothing to send."""
        return None

    def unacked_frames(self) -> int:
        """Frames sent but not yet acknowledged (back-pressure); 0 for vendors without acks."""
        return 0

    def classify_refusal(self, status: int, headers: Mapping[str, str], body: bytes
                         ) -> CloseVerdict:
        """The verdict for an upgrade refused with HTTP ``status`` (headers and body of
        the refusal at hand, for vendors that explain it there)."""
        return self.classify_close(status, "")

    def classify_exception(self, exc: BaseException) -> CloseVerdict:
        """The verdict for an exception raised by :meth:`handshake` (a token fetch)."""
        return CloseVerdict(CloseKind.RETRY,
                            f"Couldn't prepare the {self.title} session ({type(exc).__name__})")
