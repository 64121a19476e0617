"""Ending a command-line run on a signal: the first stops it cleanly, a second quits at once.

SIGINT (Ctrl-C), SIGTERM (``kill``, ``timeout``, logout) and SIGHUP (the
terminal was closed) all mean the same thing: finish the last words, write the
transcript, exit. :func:`run_until_signalled` runs a coroutine that ends when
its ``stop`` event is set; the first signal sets it, and a second signal, or
the stop taking longer than ``grace_s``, cancels the coroutine (the journal has
every final already, so nothing shown is lost).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
STOP_GRACE_S = 10.0


def say(message: str) -> None:
    """One line on stderr; a closed terminal (SIGHUP) is not an error."""
    try:
        print(f"captioner: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def signal_name(signum: int) -> str:
    names: dict[int, str] = {int(signal.SIGINT): "Ctrl-C"}
    return names.get(signum) or signal.Signals(signum).name


class SignalOutcome:
    """What happened while :func:`run_until_signalled` ran.

    Attributes:
        signum: the first stop signal received, or None.
        aborted: the run was cancelled (second signal, or the grace ran out).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.aborted = False

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
        return 128 + self.signum if self.signum is not None else 0


async def run_until_signalled(make_run: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
                              outcome: SignalOutcome,
                              grace_s: float = STOP_GRACE_S) -> T | None:
    """Run ``make_run(stop)``; stop signals set ``stop``, then cancel it.

    Returns:
        the coroutine's result, or None if it was cancelled.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    run: asyncio.Task[T] = asyncio.create_task(make_run(stop))
    grace: asyncio.TimerHandle | None = None

    def abort(reason: str) -> None:
        if not run.done():
            log.info("aborting: %s", reason)
            outcome.aborted = True
            run.cancel()

    def on_signal(signum: int) -> None:
        nonlocal grace
        if outcome.signum is None:
            outcome.signum = signum
            say(f"stopping… ({signal_name(signum)} again to quit now)"
                if signum == signal.SIGINT else f"stopping ({signal_name(signum)})…")
            stop.set()
            grace = loop.call_later(grace_s, abort, "the stop took too long")
        else:
            abort(f"second signal {signal_name(signum)}")

    # NB: signal.signal (not loop.add_signal_handler, missing on Windows); the
    # handler runs in the main thread between bytecodes, so hop onto the loop.
    previous = {sig: signal.signal(sig, lambda signum, _frame: loop.call_soon_threadsafe(
        on_signal, signum)) for sig in STOP_SIGNALS}
    try:
        return await run
    except asyncio.CancelledError:
        if not run.cancelled():
            raise
        say("aborted; the last words may be missing.")
        return None
    finally:
        if grace is not None:
            grace.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
