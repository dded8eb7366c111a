"""Notification type → channel. Types are Echo's (``slack``, ``email``, ``microsoftteams``,
``googlechat``, ``sms``) plus Gennaker's ``webhook``; any other type answers "not supported"."""

from __future__ import annotations

import httpx

from core.settings.notify import NotificationSettings
from integrations.outbound import OutboundPolicy

from .base import Channel, DisabledChannel, UnsupportedChannel
from .googlechat import GoogleChatChannel
from .mail import EmailChannel
from .slack import SlackChannel
from .sms import SmsChannel
from .teams import TeamsChannel
from .webhook import WebhookChannel

CHANNEL_TYPES: tuple[str, ...] = ("email", "googlechat", "microsoftteams", "slack", "sms", "webhook")


def build_channels(
    settings: NotificationSettings, http: httpx.AsyncClient, policy: OutboundPolicy | None = None
) -> dict[str, Channel]:
    """One channel per supported type, built from the settings; disabled types send nothing.
    The webhook-style channels POST under ``policy`` (the outbound policy's safe defaults when None)."""
    channels: dict[str, Channel] = {
        "email": EmailChannel(settings.email),
        "googlechat": GoogleChatChannel(http, policy),
        "microsoftteams": TeamsChannel(http, policy),
        "slack": SlackChannel(settings.slack),
        "sms": SmsChannel(settings.sms),
        "webhook": WebhookChannel(http, policy),
    }
    for kind in CHANNEL_TYPES:
        if not getattr(settings, kind).enabled:
            channels[kind] = DisabledChannel(kind)
    return channels


def channel_for(channels: dict[str, Channel], kind: str) -> Channel:
    """The channel for a notification ``type`` (case-insensitive), or one that answers "not supported"."""
    key = (kind or "").strip().lower()
    return channels.get(key) or UnsupportedChannel(key, tuple(sorted(channels)))
