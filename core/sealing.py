"""Sealing secrets that travel through Temporal: webhook stages' ``customHeaders`` values.

Temporal keeps every workflow input in its history, and its Web UI has no login: a header such as
``Authorization: Bearer ...`` in a webhook stage's context would be readable there by anyone who can reach it.
The API seals each literal header value before it is stored or handed to the engine (``sealed:v1:<Fernet
token>``); the webhook activity unseals it right where it builds the request. Values holding an expression
(``${...}``) are left as they are: the engine evaluates them, and the secret they name lives elsewhere.

The key is ``auth.seal_key`` (a Fernet key, shared by the API and the workers), else one generated once into
``<state_dir>/sealing.key`` (mode 0600) on the machine where both run.

Rotation: the new key becomes ``auth.seal_key`` and the old one goes into ``auth.previous_seal_keys``. Values sealed
with a previous key still open (API and workers), a save seals them again with the current key, and
``gennaker auth reseal`` does that for every stored config at once (api/auth/cli.py); then the old key can go.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from core.errors import AuthError

log = logging.getLogger("gennaker.auth")
PREFIX = "sealed:v1:"
KEY_FILE = "sealing.key"
_lock = threading.Lock()
_cache: dict[str, Any] = {}


class SealError(AuthError, ValueError):
    """A sealed value that cannot be opened (another key, or altered); the message never shows the value."""


def _fernet(settings: Any) -> Any:
    """The current key, which seals."""
    configured = getattr(getattr(settings, "auth", None), "seal_key", None)
    if configured is not None:
        return _cached("auth.seal_key", configured.get_secret_value().encode())
    path = Path(settings.state_dir).expanduser() / KEY_FILE
    return _cached(str(path), _key_file(path))


def _previous(settings: Any) -> list[Any]:
    """The keys of earlier rotations, which only open."""
    keys = getattr(getattr(settings, "auth", None), "previous_seal_keys", None) or []
    return [_cached(f"auth.previous_seal_keys[{i}]", key.get_secret_value().encode()) for i, key in enumerate(keys)]


def _keyring(settings: Any) -> Any:
    """Every key that opens: the current one first."""
    from cryptography.fernet import MultiFernet

    return MultiFernet([_fernet(settings), *_previous(settings)])


def _cached(where: str, key: bytes) -> Any:
    from cryptography.fernet import Fernet

    with _lock:
        if where not in _cache or _cache[where][0] != key:
            try:
                _cache[where] = (key, Fernet(key))
            except ValueError:
                raise SealError(f"{where} is not a Fernet key (32 url-safe base64-encoded bytes)") from None
        return _cache[where][1]


def _key_file(path: Path) -> bytes:
    from cryptography.fernet import Fernet

    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Fernet.generate_key()
            try:  # O_EXCL: two processes starting at once agree on the first key written
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
                log.info("generated the sealing key %s", path)
        for _ in range(100):  # another process may have created the file and not written it yet
            key = path.read_bytes().strip()
            if key:
                return key
            time.sleep(0.01)
        raise SealError(f"{path} is empty; delete it to have a new key generated")


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(settings: Any, value: str) -> str:
    """``value`` sealed with the current key. A value sealed already is kept as it is, unless only a previous key
    opens it: then it is sealed again with the current one (a value no key opens is kept, and fails where used)."""
    if "${" in value and not is_sealed(value):
        return value
    if is_sealed(value):
        return reseal(settings, value)[0]
    token: bytes = _fernet(settings).encrypt(value.encode())
    return PREFIX + token.decode()


def reseal(settings: Any, value: str) -> tuple[str, str]:
    """``(value, state)``: ``current`` (the current key opens it; unchanged), ``resealed`` (a previous key did; now
    sealed with the current one) or ``unopenable`` (no key opens it; unchanged)."""
    from cryptography.fernet import InvalidToken

    token = value[len(PREFIX) :].encode()
    try:
        _fernet(settings).decrypt(token)
        return value, "current"
    except InvalidToken:
        pass
    if not _previous(settings):
        return value, "unopenable"
    try:
        # MultiFernet.rotate opens with any of its keys and seals with its first, keeping the token's timestamp
        return PREFIX + _keyring(settings).rotate(token).decode(), "resealed"
    except InvalidToken:
        return value, "unopenable"


def unseal(settings: Any, value: Any) -> Any:
    """The clear value of a sealed string (opened with the current key or a previous one); anything else is
    returned as it is."""
    from cryptography.fernet import InvalidToken

    if not is_sealed(value):
        return value
    try:
        return _keyring(settings).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SealError(
            "a sealed header value cannot be opened with this key (auth.seal_key differs, or the key that sealed "
            "it was rotated out of auth.previous_seal_keys?)"
        ) from None


def _seal_headers(settings: Any, headers: Any) -> Any:
    if not isinstance(headers, dict):
        return headers
    out: dict[str, Any] = {}
    for name, value in headers.items():
        if isinstance(value, str):
            out[name] = seal(settings, value)
        elif isinstance(value, list):
            out[name] = [seal(settings, v) if isinstance(v, str) else v for v in value]
        else:
            out[name] = value
    return out


def seal_stages(settings: Any, stages: Any) -> Any:
    """The stages with every webhook stage's ``customHeaders`` values sealed (a copy; others untouched)."""
    if not isinstance(stages, list):
        return stages
    out = []
    for stage in stages:
        if isinstance(stage, dict) and isinstance(stage.get("customHeaders"), dict):
            stage = {**stage, "customHeaders": _seal_headers(settings, stage["customHeaders"])}
        out.append(stage)
    return out


def sealed_values(config: Any) -> list[str]:
    """Every sealed value in a config's webhook stages' ``customHeaders``."""
    found: list[str] = []
    stages = config.get("stages") if isinstance(config, dict) else None
    for stage in stages if isinstance(stages, list) else []:
        headers = stage.get("customHeaders") if isinstance(stage, dict) else None
        for value in headers.values() if isinstance(headers, dict) else []:
            found.extend(v for v in (value if isinstance(value, list) else [value]) if is_sealed(v))
    return found


def seal_config(settings: Any, config: Any) -> Any:
    """A pipeline config (or ad-hoc pipeline) with its webhook headers sealed."""
    if not isinstance(config, dict) or not isinstance(config.get("stages"), list):
        return config
    return {**config, "stages": seal_stages(settings, config["stages"])}


_opened: dict[bytes, Any] = {}


def configure(settings: Any) -> None:
    """Let :func:`open_value` use this process's keys, the current one and the previous ones (the worker calls it
    when it builds its activities)."""
    for fernet in (_fernet(settings), *_previous(settings)):
        with _lock:
            _opened[id(fernet).to_bytes(8, "little")] = fernet


def open_value(value: Any) -> Any:
    """A sealed value opened with a configured key (:func:`configure`); anything else as it is. Where the
    webhook activity assembles its request headers."""
    from cryptography.fernet import InvalidToken, MultiFernet

    if not is_sealed(value):
        return value
    with _lock:
        keys = list(_opened.values())
    if not keys:
        raise SealError("a header value is sealed but this worker has no sealing key configured")
    try:
        return MultiFernet(keys).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SealError(
            "a sealed header value cannot be opened with this key (auth.seal_key differs, or the key that sealed "
            "it was rotated out of auth.previous_seal_keys?)"
        ) from None


def unseal_headers(settings: Any, headers: Any) -> Any:
    """What the webhook activity sends: ``customHeaders`` with sealed values opened."""
    if not isinstance(headers, dict):
        return headers
    return {
        name: [unseal(settings, v) for v in value] if isinstance(value, list) else unseal(settings, value)
        for name, value in headers.items()
    }
