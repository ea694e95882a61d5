"""Channels: each sends one delivery (or a batch) and raises `DeliveryFailed` when it cannot.

The error says whether a retry can help. Adding a channel is one module and one line in
`CHANNELS`. Entries are dotted paths, imported when first used, so a channel's dependencies
are only needed where that channel runs.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from .base import BaseChannel, DeliveryFailed, SendResult

CHANNELS: dict[str, str] = {
    "email": "delivery.channels.email.EmailChannel",
    "webhook": "delivery.channels.webhook.WebhookChannel",
    "sftp": "delivery.channels.sftp.SftpChannel",
}


@cache
def channel_get(name: str) -> BaseChannel:
    """The channel instance for a name; raises KeyError for an unknown channel."""
    return import_string(CHANNELS[name])()


def channels_where(**facts) -> list[str]:
    """The names of the channels with these facts, e.g. channels_where(scheduled=True)."""
    return [
        name
        for name in CHANNELS
        if all(getattr(channel_get(name), fact) == value for fact, value in facts.items())
    ]


__all__ = [
    "CHANNELS",
    "BaseChannel",
    "DeliveryFailed",
    "SendResult",
    "channel_get",
    "channels_where",
]
