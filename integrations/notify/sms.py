"""SMS: Echo's Twilio channel (``TwilioNotificationAgent``), through the ``twilio`` package.

Echo posts ``From``, ``To`` and ``Body`` to Twilio's ``/2010-04-01/Accounts/{account}/Messages.json``
(form-encoded, basic auth) for each entry ``{"type": "sms", "address": "+15550100", "when": [...]}``.
The body is Echo's one sentence and the link; here the sentence is the same as every channel's
(``render.py``), with the entry's custom text between them, and an entry's ``customMessage`` replaces it
all. Several numbers may be given, separated by commas or semicolons; each gets its own message.

Numbers are read in E.164 (``+15550100``; spaces, dots, dashes and brackets are dropped); anything else
fails the send without a retry, naming the entry's address. Twilio's answers are classified as the other
channels' are: 429 and 5xx retry, other 4xx (bad credentials 20003, a bad ``To`` 21211, an unsubscribed
recipient 21610, a ``From`` that is not yours 21606...) do not. The twilio client is built on first use
and its requests run in a thread; its own retries are off. The auth token never leaves the client: errors
name the setting to fix, never its value.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from core.settings.notify import SmsSettings

from .base import SendResult, http_status_retryable
from .render import Message

if TYPE_CHECKING:  # twilio loads when a message is sent, not with the engine (docs/architecture.md, "Footprint")
    from twilio.rest import Client

CHANNEL = "sms"
#: Twilio refuses longer bodies (error 21617)
MAX_BODY = 1600
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SEPARATORS = re.compile(r"[,;]")
_FORMATTING = re.compile(r"[\s().\-]")
#: Twilio error codes, as sentences naming what to fix
TWILIO_ERRORS = {
    20003: "Twilio rejected the credentials (20003); check notifications.sms.account_sid and auth_token",
    20404: "Twilio does not know this account (20404); check notifications.sms.account_sid",
    21211: "Twilio refused the number {to} (21211: not a valid phone number)",
    21606: "Twilio refused to send from notifications.sms.from_number (21606: not a number of this account)",
    21610: "{to} has unsubscribed from this sender (21610: replied STOP)",
    21614: "{to} is not a mobile number (21614)",
}


def parse_numbers(address: str) -> list[str]:
    """The entry's numbers in E.164; raises ``ValueError`` naming the first that is not one."""
    numbers = []
    for part in _SEPARATORS.split(address):
        if not part.strip():
            continue
        number = _FORMATTING.sub("", part)
        if not _E164.match(number):
            raise ValueError(f"'{part.strip()}' is not a phone number in E.164 form (+15550100)")
        numbers.append(number)
    if not numbers:
        raise ValueError("the sms entry has no phone number")
    return numbers


def build_body(message: Message) -> str:
    """The text: the sentence, the custom text and the link (or the ``customMessage`` as filled in),
    cut to Twilio's 1,600 characters keeping the link."""
    if message.text.startswith(message.headline):
        body = "\n".join(p for p in (message.headline, message.custom_text, message.link) if p)
    else:  # customMessage replaced the text
        body = message.text
    if len(body) <= MAX_BODY:
        return body
    tail = f"… {message.link}" if message.link in body else "…"
    return body[: MAX_BODY - len(tail)] + tail


def describe_error(status: int, code: int | None, to: str) -> str:
    """A sentence for Twilio's answer (its ``code`` when it gave one)."""
    known = TWILIO_ERRORS.get(code or 0)
    if known:
        return known.format(to=to)
    if status == 429:
        return "Twilio is rate limiting this account (HTTP 429)"
    return f"Twilio answered HTTP {status}" + (f" (error {code})" if code else "") + f" for {to}"


class SmsChannel:
    """Sends each number its message with twilio's ``Client`` (built once, on first use)."""

    def __init__(self, settings: SmsSettings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client

    def _missing(self) -> list[str]:
        s = self.settings
        pairs = [("account_sid", s.account_sid), ("auth_token", s.auth_token), ("from_number", s.from_number)]
        return [name for name, value in pairs if not value]

    def _twilio(self) -> Client:
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            s = self.settings
            assert s.auth_token is not None and s.account_sid is not None
            client = Client(
                username=s.api_key_sid or s.account_sid,
                password=s.auth_token.get_secret_value(),
                account_sid=s.account_sid,
                http_client=TwilioHttpClient(timeout=s.timeout_s, max_retries=None),
                environment={},  # no TWILIO_* variables of the process change where it sends
            )
            client.api.base_url = s.base_url.rstrip("/")
            self._client = client
        return self._client

    async def send(self, message: Message) -> SendResult:
        missing = self._missing()
        if missing:
            names = ", ".join(f"notifications.sms.{name}" for name in missing)
            return SendResult.failed(
                CHANNEL, f"SMS is not configured: set {names}", code="not_configured", retryable=False
            )
        try:
            numbers = parse_numbers(message.address)
        except ValueError as err:
            return SendResult.failed(CHANNEL, str(err), code="invalid_address", retryable=False)
        body = build_body(message)
        sids = []
        for to in numbers:
            sent = await asyncio.to_thread(self._send_one, to, body)
            if isinstance(sent, SendResult):
                return sent
            sids.append(sent)
        return SendResult.ok(
            CHANNEL, tuple(numbers), remote_id=",".join(sids), detail=f"{len(numbers)} message(s) queued"
        )

    def _send_one(self, to: str, body: str) -> str | SendResult:
        """The message's SID, or the failure."""
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            created = self._twilio().messages.create(to=to, from_=self.settings.from_number, body=body)
        except TwilioRestException as err:
            retryable = http_status_retryable(err.status)
            code = err.code if err.code and err.code != err.status else None  # the client fills in the status
            return SendResult.failed(
                CHANNEL,
                describe_error(err.status, code, to),
                code=f"twilio_{code}" if code else f"http_{err.status}",
                retryable=retryable,
                recipients=(to,),
            )
        except requests.exceptions.RequestException as err:  # refused, reset, timed out
            return SendResult.failed(
                CHANNEL,
                f"could not reach Twilio's API: {type(err).__name__}",
                code="unreachable",
                retryable=True,
                recipients=(to,),
            )
        except TwilioException as err:
            return SendResult.failed(
                CHANNEL, f"Twilio request failed: {type(err).__name__}", code="client_error", retryable=False
            )
        return str(created.sid or "")
