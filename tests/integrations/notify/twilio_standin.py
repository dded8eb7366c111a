"""A stand-in for Twilio's Messages API (no Twilio here), driven by the real ``twilio`` client.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``, ``Body``, with
basic auth (the account SID or an API key SID, and the token). It records every message it took and
answers as Twilio does: 201 with the message resource (``sid: SM...``, ``status: queued``); 401 with
error 20003 for other credentials; 400 with 21211 for a ``To`` that is not E.164 and 21606 for a ``From``
that is not one of the account's numbers; scripted failures (429, 503...) through ``fail_next``.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.integrations.ci.standin import Answer, StandIn

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-standin-auth-token-secret"


@dataclass
class Sms:
    account: str
    to: str
    from_: str
    body: str
    user: str


@dataclass
class TwilioStandIn(StandIn):
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    #: other usernames accepted with the token (API key SIDs)
    api_keys: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=lambda: {"+15550001111"})
    messages: list[Sms] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._sids = itertools.count(1)
        self.route("POST", "/2010-04-01/Accounts/(?P<account>[^/]+)/Messages.json", self._create)

    def authorized(self, headers: dict[str, str]) -> Answer | None:
        user = self._user(headers)
        if user not in {self.account_sid, *self.api_keys}:
            return 401, _error(20003, "Authenticate", 401), {}
        return None

    @staticmethod
    def _user(headers: dict[str, str]) -> str | None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user if password == AUTH_TOKEN else None

    def _create(self, account: str, body: Any, headers: dict[str, str], **_: Any) -> Answer:
        if account != self.account_sid:
            return 404, _error(20404, "The requested resource was not found", 404), {}
        raw = body if isinstance(body, bytes) else b""
        form = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        to, from_, text = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to.startswith("+") or not to[1:].isdigit():
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400), {}
        if from_ not in self.numbers:
            return 400, _error(21606, f"The 'From' phone number {from_} is not a valid, SMS-capable number", 400), {}
        if len(text) > 1600:
            return 400, _error(21617, "The concatenated message body exceeds the 1600 character limit", 400), {}
        self.messages.append(Sms(account, to, from_, text, self._user(headers) or ""))
        sid = f"SM{next(self._sids):032x}"
        resource = {
            "sid": sid,
            "account_sid": account,
            "to": to,
            "from": from_,
            "body": text,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }
        return 201, resource, {}


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
