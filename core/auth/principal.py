"""The caller of a request, as every route and the permission checks see it."""

from __future__ import annotations

from dataclasses import dataclass, field

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Principal:
    """A user or a service account, with the roles it holds.

    ``authenticated`` is False for the anonymous caller (authentication off, or no credentials sent).
    ``via`` says how it was authenticated: ``anonymous``, ``token``, ``oidc``, ``proxy``, ``service_account``.
    """

    name: str = ANONYMOUS
    roles: frozenset[str] = field(default_factory=frozenset)
    admin: bool = False
    authenticated: bool = False
    via: str = "anonymous"
    email: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return not self.authenticated


ANONYMOUS_PRINCIPAL = Principal()
