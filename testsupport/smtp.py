"""A real SMTP server for tests and benchmarks (aiosmtpd), on 127.0.0.1 and a free port.

`SMTPServer` collects every message it receives; it can refuse recipients (`refuse`: 550,
`defer`: 450) or fail the DATA step (`fail_data`). Used through the root conftest's
`smtp_server` fixture.
"""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from testsupport.waiting import free_port, wait_until


@dataclass
class ReceivedEmail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


class _Collector:
    def __init__(self, server: SMTPServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.server.lock:
            self.server.sessions.add(id(session))
        if address in self.server.refuse:
            return "550 5.1.1 no such user"
        if address in self.server.defer:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.server.fail_data:
            return "451 4.3.0 try again later"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(
                ReceivedEmail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=raw,
                    message=message,
                )
            )
        return "250 Message accepted"


class SMTPServer:
    def __init__(self):
        self.messages: list[ReceivedEmail] = []
        self.lock = threading.Lock()
        self.refuse: set[str] = set()  # recipients refused for good (550)
        self.defer: set[str] = set()  # recipients refused for now (450)
        self.sessions: set[int] = set()  # one per SMTP connection that sent a message
        self.fail_data = False
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(_Collector(self), hostname=self.host, port=self.port)

    def start(self) -> SMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[ReceivedEmail]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[ReceivedEmail]:
        wait_until(
            lambda: len(self.messages) >= count,
            timeout=timeout,
            message=f"expected {count} emails, got {len(self.messages)}",
        )
        with self.lock:
            return list(self.messages)
