"""Every user command as a QAction with its shortcut, shared by the window, overlay menu and tray.

Shortcuts with :data:`APP_WIDE` work whenever any captioner window has focus
(the control window, the overlay, preferences, past sessions):
``Qt.ApplicationShortcut``. They also work whatever widget has the focus: a
text field or the transcript would otherwise claim keys such as Ctrl+Shift+End
(select to the end) through ``ShortcutOverride``; :class:`AppActions` filters
that claim out for our shortcuts, except in a shortcut editor, which must see
the keys it records. None is system-wide: Qt has no global hotkeys, and the platform ways (X11
key grabs, Windows ``RegisterHotKey``, macOS event taps, Wayland's portal)
would each need native code or a new dependency; the tray menu is the way
back from another app.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEvent, QKeyCombination, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QKeySequenceEdit, QWidget

from captioner.settings import Key, Settings

log = logging.getLogger(__name__)

# action name -> (text, settings key or None, fixed shortcut or None, accessible description)
SPECS: dict[str, tuple[str, Key | None, QKeySequence.StandardKey | str | None, str]] = {
    "start_stop": ("&Start captions", Key.SHORTCUT_START_STOP, None,
                   "Start or stop captioning"),
    "pause": ("&Pause", Key.SHORTCUT_PAUSE, None, "Pause or resume captioning"),
    "record": ("&Record audio", None, None,
               "Keep this session's audio, so its transcript can be improved afterwards"),
    "toggle_overlay": ("Show caption &overlay", Key.SHORTCUT_TOGGLE_OVERLAY, None,
                       "Show or hide the caption overlay"),
    "click_through": ("&Click-through overlay", Key.SHORTCUT_CLICK_THROUGH, None,
                      "Let mouse clicks pass through the overlay"),
    "font_bigger": ("&Bigger captions", Key.SHORTCUT_FONT_BIGGER, None,
                    "Make the caption text bigger"),
    "font_smaller": ("S&maller captions", Key.SHORTCUT_FONT_SMALLER, None,
                     "Make the caption text smaller"),
    "scroll_back": ("Scroll captions &back", None, "Ctrl+Shift+Up",
                    "Show earlier caption lines in the overlay"),
    "scroll_forward": ("Scroll captions &forward", None, "Ctrl+Shift+Down",
                       "Show later caption lines in the overlay"),
    "jump_to_live": ("&Jump to live captions", None, "Ctrl+Shift+End",
                     "Return the overlay to the newest captions"),
    "show_window": ("Show &control window", None, None, "Bring the control window forward"),
    "find": ("&Find in transcript…", None, QKeySequence.StandardKey.Find,
             "Search the transcript"),
    "export": ("&Export transcript…", None, "Ctrl+E", "Save the transcript to a file"),
    "history": ("Past &sessions…", None, "Ctrl+H", "Open, search, export or delete past sessions"),
    "preferences": ("&Preferences…", None, "Ctrl+,", "Provider, keys, appearance, shortcuts"),
    "about": ("&About captioner", None, None, "Version, log file location"),
    "quit": ("&Quit", None, QKeySequence.StandardKey.Quit, "Stop captioning and quit"),
}
# "find" and "export" act on the window they are pressed in; everything else works app-wide
APP_WIDE = ("start_stop", "pause", "record", "toggle_overlay", "click_through", "font_bigger",
            "font_smaller", "scroll_back", "scroll_forward", "jump_to_live", "show_window",
            "history", "preferences", "about", "quit")
CHECKABLE = ("toggle_overlay", "click_through", "record")
# further keys that do the same, fixed (the usual zoom keys)
ALIASES = {"font_bigger": (QKeySequence.StandardKey.ZoomIn,),
           "font_smaller": (QKeySequence.StandardKey.ZoomOut,)}


class AppActions(QObject):
    """The actions, by name (``actions.start_stop``, ``actions["pause"]``).

    Attributes:
        by_name: name -> QAction.
    """

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.by_name: dict[str, QAction] = {}
        for name, (text, _key, _fixed, description) in SPECS.items():
            action = QAction(text, self)
            action.setObjectName(f"action_{name}")
            action.setStatusTip(description)
            action.setWhatsThis(description)
            if name in CHECKABLE:
                action.setCheckable(True)
            if name in APP_WIDE:
                action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            self.by_name[name] = action
        self.by_name["quit"].setMenuRole(QAction.MenuRole.QuitRole)
        self.by_name["preferences"].setMenuRole(QAction.MenuRole.PreferencesRole)
        self.by_name["about"].setMenuRole(QAction.MenuRole.AboutRole)
        self.apply_shortcuts()
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep focused widgets from claiming our shortcuts (see the module docstring)."""
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent) \
                or not isinstance(watched, QWidget) or _in_shortcut_editor(watched):
            return False
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        combo = QKeySequence(QKeyCombination(modifiers, Qt.Key(event.key())))
        for action in self.by_name.values():
            if action.isEnabled() and combo in action.shortcuts():
                event.ignore()
                return True
        return False

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def __getattr__(self, name: str) -> QAction:
        by_name = self.__dict__.get("by_name")
        if by_name is not None and name in by_name:
            return by_name[name]
        raise AttributeError(name)

    def apply_shortcuts(self) -> None:
        """(Re)read the configurable shortcuts from the settings."""
        for name, (text, key, fixed, _description) in SPECS.items():
            action = self.by_name[name]
            sequences: list[QKeySequence] = []
            if key is not None:
                stored = self.settings.get(key)
                if stored:
                    sequences.append(QKeySequence(stored))
            elif isinstance(fixed, QKeySequence.StandardKey):
                sequences.extend(QKeySequence.keyBindings(fixed))
            elif fixed:
                sequences.append(QKeySequence(fixed))
            for alias in ALIASES.get(name, ()):
                for seq in QKeySequence.keyBindings(alias):
                    if seq not in sequences:
                        sequences.append(seq)
            action.setShortcuts(sequences)
            plain = text.replace("&", "").rstrip("…")
            shown = sequences[0].toString(QKeySequence.SequenceFormat.NativeText) \
                if sequences else ""
            action.setToolTip(f"{plain} ({shown})" if shown else plain)

    def shortcut_text(self, name: str) -> str:
        seq = self.by_name[name].shortcut()
        return seq.toString(QKeySequence.SequenceFormat.NativeText)

    def set_running(self, run_state: str) -> None:
        """Relabel start/stop and pause for the current run state."""
        running = run_state in ("starting", "live", "stopping")
        self["start_stop"].setText("&Stop captions" if running or run_state == "paused"
                                   else "&Start captions")
        self["start_stop"].setEnabled(run_state != "stopping")
        self["pause"].setText("&Resume" if run_state == "paused" else "&Pause")
        self["pause"].setEnabled(run_state in ("starting", "live", "paused"))
        self.apply_tooltips()

    def apply_tooltips(self) -> None:
        for name, action in self.by_name.items():
            plain = action.text().replace("&", "").rstrip("…")
            shown = self.shortcut_text(name)
            action.setToolTip(f"{plain} ({shown})" if shown else plain)


def _in_shortcut_editor(widget: QWidget) -> bool:
    parent: QWidget | None = widget
    while parent is not None:
        if isinstance(parent, QKeySequenceEdit):
            return True
        parent = parent.parentWidget()
    return False
