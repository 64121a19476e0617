"""Hot standby in the status line: DEGRADED outranks LIVE and says who stands in for whom."""

from __future__ import annotations

from captioner.gui.controller import _combined_state
from captioner.gui.status_line import RunStatus, describe
from captioner.stream import State, StateChanged


def test_degraded_outranks_live_and_reads_as_the_offline_engine() -> None:
    states = {"mic": StateChanged("mic", State.LIVE),
              "system": StateChanged("system", State.DEGRADED, "Deepgram unreachable",
                                     replaced_provider="deepgram")}
    combined = _combined_state(states)
    assert combined is not None and combined.state is State.DEGRADED
    states["mic"] = StateChanged("mic", State.RECONNECTING)
    assert _combined_state(states).state is State.RECONNECTING  # type: ignore[union-attr]
    assert describe(RunStatus(state="degraded", provider="Deepgram")) == \
        "Live from the offline engine · Deepgram unreachable"
