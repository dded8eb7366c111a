"""Settings of Echo's notification channels (attached to ``Settings`` as ``settings.notifications``).

Environment variables follow the settings' nesting: ``GENNAKER_NOTIFICATIONS__SLACK__BOT_TOKEN``,
``GENNAKER_NOTIFICATIONS__EMAIL__HOST``, ``GENNAKER_NOTIFICATIONS__BASE_URL``. Secrets are ``SecretStr``
so they never print; the senders read them only to hand them to the client library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0)]

#: Field names under ``notifications`` whose values must never appear in errors or logs.
SECRET_FIELDS = frozenset({"bot_token", "password", "auth_token"})


class SlackSettings(BaseModel):
    """Slack's Web API (``chat.postMessage``) with a bot token, as Echo's ``slack.*``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: ``xoxb-...``; without it Slack notifications fail (non-retryable) with "not configured".
    bot_token: SecretStr | None = None
    #: Slack's API root; tests point it at a stand-in.
    base_url: str = "https://slack.com/api/"
    #: Echo's ``slack.send-compact-messages``: a colored bar with the text, no title or footer.
    send_compact_messages: bool = False
    timeout_s: Seconds = 30.0


class EmailSettings(BaseModel):
    """An SMTP relay, as Echo's ``mail.*`` / ``spring.mail.*``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: without a host (and a from address) email notifications fail with "not configured".
    host: str | None = None
    port: Port = 25
    username: str | None = None
    password: SecretStr | None = None
    #: upgrade the connection with STARTTLS (usually port 587); fails if the server does not offer it.
    starttls: bool = False
    #: implicit TLS from the first byte (SMTPS, usually port 465).
    ssl: bool = False
    #: a CA bundle to verify the server's certificate with, for private CAs (default: the system's).
    ca_file: Path | None = None
    from_address: str | None = None
    timeout_s: Seconds = 30.0

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailSettings:
        if self.ssl and self.starttls:
            raise ValueError("choose one of ssl (implicit TLS) and starttls, not both")
        return self


class SmsSettings(BaseModel):
    """Twilio's Messages API, as Echo's ``twilio.*`` (``account``, ``token``, ``from``, ``base-url``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: the account SID (``AC...``); without it and a token and a from number, SMS fails with "not configured".
    account_sid: str | None = None
    #: the account's auth token, or the secret of ``api_key_sid``
    auth_token: SecretStr | None = None
    #: an API key (``SK...``) to authenticate with instead of the account SID (Twilio's advice)
    api_key_sid: str | None = None
    #: the sending number in E.164 (``+15550100``)
    from_number: str | None = None
    #: Twilio's API root; tests point it at a stand-in.
    base_url: str = "https://api.twilio.com"
    timeout_s: Seconds = 30.0


class ChannelToggle(BaseModel):
    """A channel with nothing to configure but whether it may send (addresses are webhook URLs)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True


class NotificationSettings(BaseModel):
    """Every notification channel, and where links in messages point."""

    model_config = ConfigDict(extra="forbid")

    #: Echo's ``spinnaker.base-url``: links read ``{base_url}/#/applications/{app}/executions/details/{id}``.
    base_url: str = "http://localhost:8084"
    slack: SlackSettings = Field(default_factory=SlackSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    #: ``type: webhook``: the event as JSON, POSTed to the address.
    webhook: ChannelToggle = Field(default_factory=ChannelToggle)
    microsoftteams: ChannelToggle = Field(default_factory=ChannelToggle)
    googlechat: ChannelToggle = Field(default_factory=ChannelToggle)
    #: ``type: sms``: a text message through Twilio.
    sms: SmsSettings = Field(default_factory=SmsSettings)
    #: connect/read timeout of the webhook, Microsoft Teams and Google Chat calls.
    http_timeout_s: Seconds = 15.0
