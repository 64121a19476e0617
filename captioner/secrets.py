"""API keys in the OS keychain (via keyring), with the vendors' environment variables as fallback.

Keys are stored under the service name ``captioner``, one entry per provider.
Never in a file: keyring backends that write plain text (``keyrings.alt``) are
refused. :class:`MemoryStore` stands in for tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Protocol

from captioner.errors import UserFacingError
from captioner.vendors import VENDORS

log = logging.getLogger(__name__)

SERVICE = "captioner"
ENV_VARS = {name: v.env_var for name, v in VENDORS.items()}
_PLAINTEXT_BACKENDS = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


class SecretStoreError(UserFacingError):
    """The keychain can't be used; the message says what to do instead."""


def _no_keychain(detail: str, provider: str | None = None) -> SecretStoreError:
    env = f" or set {ENV_VARS[provider]} in the environment" if provider in ENV_VARS else \
        " or set the provider's environment variable (e.g. DEEPGRAM_API_KEY)"
    return SecretStoreError(
        f"No usable keychain ({detail}). Unlock or install one (GNOME Keyring, KWallet, "
        f"macOS Keychain, Windows Credential Manager){env}."
    )


class SecretStore(Protocol):
    def get(self, provider: str) -> str | None: ...

    def set(self, provider: str, secret: str) -> None: ...

    def delete(self, provider: str) -> None: ...


class KeyringStore:
    """The OS keychain through ``keyring``."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def _backend(self, provider: str | None):
        import keyring

        backend = keyring.get_keyring()
        module = type(backend).__module__
        chained = getattr(backend, "backends", None)
        if chained is not None and not chained:
            raise _no_keychain("no keychain service is running", provider)
        if module.startswith(_PLAINTEXT_BACKENDS):
            raise _no_keychain("only a plain-text or dummy keyring is available", provider)
        return backend

    def get(self, provider: str) -> str | None:
        import keyring.errors

        try:
            return self._backend(provider).get_password(self.service, provider)
        except keyring.errors.KeyringError as exc:
            raise _no_keychain(type(exc).__name__, provider) from exc

    def set(self, provider: str, secret: str) -> None:
        import keyring.errors

        try:
            self._backend(provider).set_password(self.service, provider, secret)
        except keyring.errors.KeyringError as exc:
            raise _no_keychain(type(exc).__name__, provider) from exc

    def delete(self, provider: str) -> None:
        import keyring.errors

        try:
            self._backend(provider).delete_password(self.service, provider)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise _no_keychain(type(exc).__name__, provider) from exc


class MemoryStore:
    """In-memory store for tests."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.secrets = dict(initial or {})

    def get(self, provider: str) -> str | None:
        return self.secrets.get(provider)

    def set(self, provider: str, secret: str) -> None:
        self.secrets[provider] = secret

    def delete(self, provider: str) -> None:
        self.secrets.pop(provider, None)


def resolve_secret(provider: str, store: SecretStore | None = None,
                   environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The key for ``provider``: keychain first, then the vendor's environment variable.

    Returns:
        (secret or None, where it came from: "keychain", "env:NAME" or "").
    Raises:
        SecretStoreError: no keychain and no environment variable either.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    store = store or KeyringStore()
    env_name = ENV_VARS.get(provider, "")
    try:
        secret = store.get(provider)
    except SecretStoreError:
        if env_name and env.get(env_name):
            log.info("keychain unavailable; using %s", env_name)
            return env[env_name], f"env:{env_name}"
        raise
    if secret:
        return secret, "keychain"
    if env_name and env.get(env_name):
        return env[env_name], f"env:{env_name}"
    return None, ""
