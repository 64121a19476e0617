"""API keys: keychain first, environment variable fallback, clear errors, never plain text."""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from captioner.secrets import (
    ENV_VARS,
    KeyringStore,
    MemoryStore,
    SecretStoreError,
    resolve_secret,
)


class DictKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring backend (a real backend class, not a mock of our code)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError("missing")
        del self.store[(service, username)]


class LockedKeyring(DictKeyring):
    def get_password(self, service, username):
        raise keyring.errors.InitError("the collection is locked")

    def set_password(self, service, username, password):
        raise keyring.errors.InitError("the collection is locked")


@pytest.fixture
def backend():
    previous = keyring.get_keyring()
    ring = DictKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


def test_keyring_store_round_trip(backend):
    store = KeyringStore()
    store.set("deepgram", "dg-secret")
    assert backend.store[("captioner", "deepgram")] == "dg-secret"
    assert store.get("deepgram") == "dg-secret"
    store.delete("deepgram")
    store.delete("deepgram")  # deleting twice is fine
    assert store.get("deepgram") is None


def test_keychain_wins_over_environment(backend):
    KeyringStore().set("assemblyai", "from-keychain")
    secret, origin = resolve_secret("assemblyai", environ={"ASSEMBLYAI_API_KEY": "from-env"})
    assert (secret, origin) == ("from-keychain", "keychain")


def test_environment_variable_is_the_fallback(backend):
    for provider, env in ENV_VARS.items():
        secret, origin = resolve_secret(provider, environ={env: f"{provider}-key"})
        assert (secret, origin) == (f"{provider}-key", f"env:{env}")


def test_no_key_anywhere_is_none(backend):
    assert resolve_secret("revai", environ={}) == (None, "")


def test_no_keychain_gives_a_clear_message_and_env_still_works():
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(SecretStoreError) as info:
            resolve_secret("deepgram", environ={})
        message = str(info.value)
        assert "keychain" in message and "DEEPGRAM_API_KEY" in message
        assert "Traceback" not in message
        fallback = resolve_secret("deepgram", environ={"DEEPGRAM_API_KEY": "k"})
        assert fallback == ("k", "env:DEEPGRAM_API_KEY")
    finally:
        keyring.set_keyring(previous)


def test_locked_keychain_is_reported_not_raised_raw():
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(SecretStoreError, match="Unlock"):
            KeyringStore().set("revai", "x")
        with pytest.raises(SecretStoreError, match="REV_ACCESS_TOKEN"):
            KeyringStore().get("revai")
    finally:
        keyring.set_keyring(previous)


def test_plain_text_keyrings_are_refused(tmp_path):
    """keyrings.alt writes keys to a file in plain text; captioner must not use it."""
    plain = type("PlaintextKeyring", (DictKeyring,), {"__module__": "keyrings.alt.file"})()
    previous = keyring.get_keyring()
    keyring.set_keyring(plain)
    try:
        with pytest.raises(SecretStoreError, match="plain-text"):
            KeyringStore().set("deepgram", "x")
        assert plain.store == {}
    finally:
        keyring.set_keyring(previous)


def test_memory_store():
    store = MemoryStore({"revai": "a"})
    assert store.get("revai") == "a"
    store.delete("revai")
    assert resolve_secret("revai", store, environ={}) == (None, "")
