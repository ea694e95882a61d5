"""The words of delivery's codes, registered in common.labels from DeliveryConfig.ready().

Channel errors are stored as the channel raised them (ops needs the detail); people read the
plain sentence `channel_error_words` makes of them, with the raw text beside it.
"""

from __future__ import annotations

import re

from common.labels import labels_register

from .models import Channel, DeliveryPurpose, DeliveryStatus

# A delivery's state as people read it: `delivery_state` adds "failing" (pending, retrying
# after an error) to the stored statuses.
DELIVERY_STATE_WORDS = {
    DeliveryStatus.PENDING.value: "Pending",
    "failing": "Failing (retrying)",
    DeliveryStatus.FAILED.value: "Failed",
    DeliveryStatus.DELIVERED.value: "Delivered",
    DeliveryStatus.CANCELLED.value: "Cancelled",
}

# (pattern on the raw error, sentence); the first match wins.
_ERRORS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^timed out\b|timed out|timeout", re.I), "The receiver did not answer in time."),
    (re.compile(r"^410\b"), "The receiver said this address is gone; the channel was turned off."),
    (re.compile(r"^(\d{3}) redirect"), "The receiver answered with a redirect (not followed)."),
    (re.compile(r"^5\d\d\b"), "The receiver answered with an error (HTTP {0})."),
    (re.compile(r"^4\d\d\b"), "The receiver refused the message (HTTP {0})."),
    (
        re.compile(r"ConnectionError|ConnectionRefused|Connection refused|Cannot connect", re.I),
        "Could not connect to the receiver.",
    ),
    (
        re.compile(r"^partly delivered", re.I),
        "The mail server refused some of the addresses; the others got the message.",
    ),
    (re.compile(r"^recipients refused", re.I), "The mail server refused the address."),
    (re.compile(r"^SMTP (\d{3})"), "The mail server refused the message (SMTP {0})."),
    (re.compile(r"SMTP|Disconnected", re.I), "The mail server could not be reached."),
    (re.compile(r"Cannot resolve", re.I), "The server's name could not be found."),
    (re.compile(r"Permission denied", re.I), "The SFTP server refused to write the file."),
    (re.compile(r"handshake|host key", re.I), "The SFTP server's identity could not be checked."),
    (re.compile(r"channel is off|turned off", re.I), "Not sent: the channel is off."),
    (
        re.compile(r"not allowed|private|refused address|address filter", re.I),
        "The address is not allowed (a private or local network).",
    ),
    (re.compile(r"^internal error", re.I), "Something went wrong on our side."),
]


def channel_error_words(error: str) -> str:
    """A plain sentence for a stored channel error; an already plain one reads as it is."""
    text = (error or "").strip()
    if not text:
        return ""
    for pattern, words in _ERRORS:
        match = pattern.search(text)
        if match:
            status = text[:3] if text[:3].isdigit() else (match.groups() or ("",))[0]
            return words.format(status)
    return text[:1].upper() + text[1:]


def labels_register_delivery() -> None:
    labels_register("channel", Channel.choices)
    labels_register("delivery_purpose", DeliveryPurpose.choices)
    labels_register("delivery_state", DELIVERY_STATE_WORDS)
    labels_register("channel_error", channel_error_words)
