"""Scripted runners for GUI tests: what the Controller runs instead of live capture.

A scripted runner is a coroutine that pushes partials and finals through the
listener exactly as a VendorStream would (applying them to the transcript first),
with no audio and no network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from captioner.audio.devices import DeviceInfo
from captioner.providers.base import Final, Partial
from captioner.stream import State, StateChanged, TranscriptChanged

DEVICES = [DeviceInfo("pulse:mic1", "Desk microphone", "input", True, "PulseAudio", 48000),
           DeviceInfo("pulse:out.monitor", "Monitor of Speakers", "system", True, "PulseAudio",
                      48000)]


class Script:
    """A scripted run: steps are ("partial"|"final", text, source) or ("state", State, message)
    or ("event", provider event, source) (applied as it is) or ("wait",) (until the test
    releases it) or ("raise", exception). After the steps it
    waits for stop, then reports STOPPED. ``later_steps`` are for runs after the first.

    Attributes:
        requests: the RunRequests runs were started with.
        released: set to continue past a ("wait",) step.
    """

    def __init__(self, steps: list[tuple[Any, ...]], *, end_state: bool = True,
                 later_steps: list[tuple[Any, ...]] | None = None, live: Any = None) -> None:
        self.steps = steps
        self.live = live
        self.later_steps = later_steps
        self.end_state = end_state
        self.requests: list[Any] = []
        self.release_flag = False
        self.t_ms = 0

    def factory(self, request: Any, transcript: Any, register: Callable[[Any], None]) -> Any:
        self.requests.append(request)
        if self.live is not None:
            register(self.live)
        steps = self.steps if len(self.requests) == 1 or self.later_steps is None \
            else self.later_steps

        async def run(listener: Callable[[Any], None], stop: asyncio.Event) -> str:
            for step in steps:
                kind = step[0]
                if kind == "state":
                    listener(StateChanged("mic", step[1], step[2] if len(step) > 2 else ""))
                elif kind in ("partial", "final"):
                    source = step[2] if len(step) > 2 else "mic"
                    event_cls = Partial if kind == "partial" else Final
                    event = event_cls(step[1], self.t_ms, self.t_ms + 500)
                    if kind == "final":
                        self.t_ms += 600
                    listener(TranscriptChanged(source, transcript.apply(event, source)))
                elif kind == "event":
                    source = step[2] if len(step) > 2 else "mic"
                    listener(TranscriptChanged(source, transcript.apply(step[1], source)))
                elif kind == "wait":
                    while not self.release_flag and not stop.is_set():
                        await asyncio.sleep(0.005)
                    self.release_flag = False
                elif kind == "raise":
                    raise step[1]
                await asyncio.sleep(0)
            await stop.wait()
            if self.end_state:
                listener(StateChanged("mic", State.STOPPED))
            return "done"

        return run

    def release(self) -> None:
        self.release_flag = True


def fallback_script() -> Script:
    """Deepgram goes live, says one line, then fails for good; the offline engine that takes
    over says another."""
    return Script([("state", State.LIVE), ("final", "Before the failure."),
                   ("state", State.FAILED, "Deepgram rejected the API key.")],
                  later_steps=[("state", State.LIVE), ("final", "After it.")])
