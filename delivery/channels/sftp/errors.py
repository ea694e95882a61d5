"""The one error every SFTP step raises, with a message fit for ops and the supplier.

Retryable or not: every failure to connect, verify, log in or write is reported as retryable.
A host-key mismatch or refused credentials are configuration problems that a person fixes
(pin the new key, correct the password) after which the very same deliveries must go out:
retrying is safe, because nothing is sent before the key matches, and it keeps the files
pending (with the reason as `last_error`) instead of dropping them; the delivery engine's retry
schedule still ends in `failed` plus a notice to the supplier if nobody acts. Only faults no
retry can cure (an unknown file format, a delivery without an order) are not retryable.
"""

from __future__ import annotations


class SftpError(Exception):
    """kind: config, connect, refused, host_key, auth, directory, io, connection_lost.

    `field` names the destination setting at fault ("host_key", "private_key", ...) when one
    is, so a form or a service can show the message on that field.
    """

    def __init__(self, message: str, *, kind: str, retryable: bool = True, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable
        self.field = field
