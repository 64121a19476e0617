"""The desktop GUI (Qt only here): overlay, control window, preferences, history, tray."""

from captioner.gui.qt_workarounds import pin_singletons

pin_singletons()
