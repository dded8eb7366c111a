"""Where roles come from besides the credential itself: Fiat's file role provider, and who is an admin."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import yaml

from core.errors import ConfigError

log = logging.getLogger("gennaker.auth")


class RolesFileError(ConfigError, ValueError):
    """The roles file cannot be read or is not ``users: [{username, roles: [...]}]``."""


def normalize(roles: Iterable[object]) -> frozenset[str]:
    """Fiat compares role names lower-cased; blanks are dropped."""
    return frozenset(str(r).strip().lower() for r in roles if r is not None and str(r).strip())


class RolesFile:
    """``users: [{username: alice, roles: [dev, ops]}]``, re-read when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, frozenset[str]] = {}

    def roles_of(self, username: str) -> frozenset[str]:
        return self._load().get(username.strip().lower(), frozenset())

    def _load(self) -> dict[str, frozenset[str]]:
        try:
            stat = os.stat(self.path)
        except OSError as err:
            raise RolesFileError(f"auth.roles_file {self.path}: {err.strerror}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._users = parse(self.path.read_text(), str(self.path))
                self._stamp = stamp
                log.info("roles file %s: %d users", self.path, len(self._users))
            return self._users


def parse(text: str, where: str) -> dict[str, frozenset[str]]:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise RolesFileError(f"auth.roles_file {where}: not YAML ({err})") from None
    users = doc.get("users", []) if isinstance(doc, dict) else None
    if not isinstance(users, list):
        raise RolesFileError(f"auth.roles_file {where}: 'users' must be a list of {{username, roles}}")
    found: dict[str, frozenset[str]] = {}
    for i, user in enumerate(users):
        if not isinstance(user, dict) or not isinstance(user.get("username"), str) or not user["username"].strip():
            raise RolesFileError(f"auth.roles_file {where}: users[{i}] needs a 'username'")
        roles = user.get("roles") or []
        if not isinstance(roles, list):
            raise RolesFileError(f"auth.roles_file {where}: users[{i}].roles must be a list")
        name = user["username"].strip().lower()
        found[name] = found.get(name, frozenset()) | normalize(roles)
    return found


def is_admin(roles: Iterable[str], admin_roles: Iterable[str]) -> bool:
    return bool(normalize(roles) & normalize(admin_roles))
