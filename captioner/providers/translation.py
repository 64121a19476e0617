"""Live translation: which providers translate in real time, into what, and checking a choice.

Today only Speechmatics does (``translation_config`` in ``StartRecognition``,
answered with ``AddPartialTranslation``/``AddTranslation``; see
:mod:`captioner.providers.speechmatics`). The app lets the user choose up to
:data:`MAX_TARGETS` target languages: each adds a line under every caption,
and more would not fit the overlay. The GUI and the CLI both check a choice
with :func:`check_targets` before connecting, so a bad one costs no session.
"""

from __future__ import annotations

from collections.abc import Iterable

from captioner.vendors import title as vendor_title

#: the app's limit (Speechmatics allows five; two lines per caption fit the overlay)
MAX_TARGETS = 2

#: aliases users type for the codes the vendor uses
_ALIASES = {"zh": "cmn", "nb": "no"}

#: language names for the choices shown to the user
LANGUAGE_NAMES = {
    "bg": "Bulgarian", "ca": "Catalan", "cmn": "Mandarin", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fi": "Finnish", "fr": "French", "gl": "Galician", "hi": "Hindi", "hr": "Croatian",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay", "nl": "Dutch", "no": "Norwegian",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sl": "Slovenian", "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese",
    # spoken languages offered elsewhere in the app that are not translated live
    "ar": "Arabic", "multi": "mixed-language",
}


def offers_translation(provider: str) -> bool:
    """Whether the provider translates live (the GUI shows the choice only then)."""
    return provider == "speechmatics"


def normalize(code: str) -> str:
    """``" ES "`` → ``"es"``, ``"zh"`` → ``"cmn"`` (the vendor's code)."""
    code = code.strip().lower()
    return _ALIASES.get(code, code)


def parse_targets(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"es, de"`` (or a list) → ``("es", "de")``: normalized, no blanks or repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        code = normalize(item)
        if code and code not in out:
            out.append(code)
    return tuple(out)


def targets_for(provider: str, language: str) -> tuple[str, ...]:
    """The target languages the provider translates ``language`` into, sorted."""
    if not offers_translation(provider):
        return ()
    from captioner.providers.speechmatics import translation_targets

    return tuple(sorted(translation_targets(normalize(language))))


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def check_targets(provider: str, language: str, targets: Iterable[str]) -> str | None:
    """One line saying what is wrong with a choice of targets, or None if it is fine."""
    targets = tuple(targets)
    if not targets:
        return None
    title = vendor_title(provider)
    if not offers_translation(provider):
        return (f"{title} does not translate live. Choose Speechmatics, "
                "or turn translation off.")
    if len(targets) > MAX_TARGETS:
        return f"Choose at most {MAX_TARGETS} translation languages (got {len(targets)})."
    source = normalize(language)
    offered = targets_for(provider, source)
    if not offered:
        return (f"{title} does not translate {language_name(source)} speech live; it translates "
                "English to and from 34 languages.")
    for target in targets:
        if target == source:
            return f"The speech is already in {language_name(target)}; choose another language."
        if target not in offered:
            choices = ", ".join(offered)
            return (f"{title} can't translate {language_name(source)} into "
                    f"{language_name(target)} ({target}). Choose from: {choices}.")
    return None
