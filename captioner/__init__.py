"""captioner: real-time live captions from the microphone and system audio."""

__version__ = "0.1.0"
