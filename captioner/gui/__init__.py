"""The desktop GUI (Qt only here): overlay, control window, preferences, history, tray.

Importing it has no side effects; :func:`captioner.app.run_app` applies the Qt
workarounds (:mod:`.qt_workarounds`) before the application starts.
"""
