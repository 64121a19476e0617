"""PyInstaller runtime hook (Linux): bundled PortAudio, system CA certificates, clean children.

Runs before any app code in the frozen app.

**PortAudio.** sounddevice finds PortAudio with
``ctypes.util.find_library("portaudio")``, which on Linux asks ``ldconfig`` for
the *system's* copy (and returns None when there is none, so the import
fails). The bundle carries Debian's ``libportaudio.so.2`` in
``_internal/portaudio/`` with fallback copies of the libraries it links
(``libasound.so.2``, ``libjack.so.0`` and JACK's ``libdb-5.3.so``). This hook

1. loads each of those dependencies from the system when it has one (ALSA's
   plugins and configuration, and a running JACK server, must match the
   system's own client libraries), else the bundled copy, with ``RTLD_GLOBAL``
   so the dynamic linker reuses it for PortAudio's ``DT_NEEDED`` entries;
2. makes ``find_library("portaudio")`` return the bundled library's path.

``CAPTIONER_PORTAUDIO=system`` keeps the system's PortAudio instead, and
``CAPTIONER_PORTAUDIO=/path/to/libportaudio.so.2`` uses that file.

**Certificates.** The bundled OpenSSL looks for CA certificates where Debian
keeps them (``/usr/lib/ssl``). On other distributions, when neither
``SSL_CERT_FILE`` nor ``SSL_CERT_DIR`` is set, point ``SSL_CERT_FILE`` at the
system's bundle so the cloud providers' ``wss://`` connections verify.

**Child processes.** The bootloader puts ``_internal/`` on ``LD_LIBRARY_PATH``
(read by the dynamic linker once, at start). Left in the environment it would
make every program the app starts (``pactl``, ``xdg-open``, the web browser a
link opens) load the bundle's libraries instead of its own; the original value
is restored. The offline engine, started as this same binary, sets it again.

Windows and macOS are untouched (sounddevice's wheels there carry PortAudio).
"""

import ctypes
import ctypes.util
import os
import sys

PORTAUDIO_DEPENDENCIES = ("libasound.so.2", "libdb-5.3.so", "libjack.so.0")
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL, CentOS
    "/etc/ssl/cert.pem",  # Alpine, Void
)


def _preload(soname: str, bundled: str) -> str:
    """Load ``soname`` globally: the system's copy, else ``bundled``. Returns which, or ""."""
    for candidate, where in ((soname, "system"), (bundled, "bundled")):
        try:
            ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        return where
    return ""  # PortAudio's own load error will then name what is missing


def _use_bundled_portaudio() -> None:
    choice = os.environ.get("CAPTIONER_PORTAUDIO", "")
    if choice == "system":
        return
    libdir = os.path.join(sys._MEIPASS, "portaudio")
    portaudio = choice or os.path.join(libdir, "libportaudio.so.2")
    if not os.path.isfile(portaudio):
        return
    if not choice:
        for soname in PORTAUDIO_DEPENDENCIES:
            _preload(soname, os.path.join(libdir, soname))
    system_find_library = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        if name == "portaudio":
            return portaudio
        return system_find_library(name)

    ctypes.util.find_library = find_library


def _use_system_certificates() -> None:
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return
    import ssl

    paths = ssl.get_default_verify_paths()
    if os.path.isfile(paths.openssl_cafile or ""):
        return
    if os.path.isdir(paths.openssl_capath or "") and os.listdir(paths.openssl_capath):
        return
    for bundle in CA_BUNDLES:
        if os.path.isfile(bundle):
            os.environ["SSL_CERT_FILE"] = bundle
            return


def _restore_library_path() -> None:
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


if sys.platform.startswith("linux"):
    _use_bundled_portaudio()
    _use_system_certificates()
    _restore_library_path()
