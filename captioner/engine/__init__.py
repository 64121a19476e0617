"""The bundled offline recognizer and the loopback server that speaks Speechmatics RT v2."""
