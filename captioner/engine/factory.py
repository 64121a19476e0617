"""Which recognizer and model a session gets, from what its StartRecognition asked.

``operating_point: standard`` (the default) gets the low-latency
:class:`~.streaming.StreamingRecognizer` honouring ``max_delay``;
``enhanced`` gets :class:`~.recognizer.WhisperRecognizer` (beam search over
whole utterances) on the larger model when it is installed. The model is the
session's ``model`` if it names one, else the server's default (``--model``);
a language other than English needs the multilingual model. Models are
loaded once, on first use, and shared by all sessions.
"""

from __future__ import annotations

import logging
import threading

from captioner.engine import models
from captioner.engine.base import Recognizer
from captioner.engine.protocol import RecognitionSettings
from captioner.engine.recognizer import WhisperRecognizer
from captioner.engine.streaming import StreamingRecognizer
from captioner.engine.whisper import WhisperModel

logger = logging.getLogger(__name__)


class WhisperFactory:
    """Makes recognizers for sessions; loads the default model at once.

    Attributes:
        installed: the model names available here.
        languages: the language codes they know.
    """

    def __init__(self, default_model: str = models.DEFAULT_MODEL, threads: int = 2) -> None:
        self.installed = models.installed()
        if default_model not in self.installed:
            raise models.ModelUnavailableError(
                f"The offline model {default_model!r} is not installed. "
                + (f"Run: {models.MULTILINGUAL_HINT}" if default_model == "base" else
                   f"Choose one of {', '.join(self.installed)}."))
        self.default_model = default_model
        self.threads = threads
        self._models: dict[str, WhisperModel] = {}
        self._lock = threading.Lock()
        first = self.model(default_model)
        self.languages: tuple[str, ...] = first.languages
        if "base" in self.installed and not first.multilingual:
            self.languages = models.base_languages()

    def model(self, name: str) -> WhisperModel:
        with self._lock:
            if name not in self._models:
                self._models[name] = models.load(name, threads=self.threads)
            return self._models[name]

    def choose(self, settings: RecognitionSettings) -> str:
        """The model name for a session."""
        name = settings.model or self.default_model
        if settings.model is None and settings.operating_point == "enhanced":
            name = "base" if "base" in self.installed else name
        if settings.language != "en" and "base" in self.installed:
            name = "base"  # only base knows other languages (and detects them)
        return name

    def __call__(self, settings: RecognitionSettings) -> Recognizer:
        model = self.model(self.choose(settings))
        logger.info("session: model %s, %s, language %s, max_delay %d ms", model.name,
                    settings.operating_point, settings.language or "auto", settings.max_delay_ms)
        if settings.operating_point == "enhanced":
            return WhisperRecognizer(model, language=settings.language)
        return StreamingRecognizer(model, language=settings.language,
                                   max_delay_ms=settings.max_delay_ms)
