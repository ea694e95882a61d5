"""Real servers for tests, on 127.0.0.1 and a free port: SMTP (aiosmtpd) and HTTP.

`SMTPServer` collects every message it receives. `HTTPReceiver` records every request and
answers from a script (status codes, redirects, delays), then with its default answer.
Both are used through the root conftest's `smtp_server` and `http_receiver` fixtures.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.02, message: str = ""):
    """Poll a condition until it holds or the deadline passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


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
        self.refuse: set[str] = set()
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


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.time()


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


class HTTPReceiver:
    """A threaded HTTP server; `script(...)` queues answers, then `default` answers."""

    def __init__(self):
        self.requests: list[ReceivedRequest] = []
        self.lock = threading.Lock()
        self._script: deque[Answer] = deque()
        self.default = Answer()
        self.release = threading.Event()  # set to end every delay early (at stop)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Answer in one segment: no Nagle / delayed-ACK stalls on kept-alive connections.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append(
                        ReceivedRequest(
                            method=self.command,
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            received_at=time.time(),
                        )
                    )
                    answer = receiver._script.popleft() if receiver._script else receiver.default
                if answer.delay:
                    receiver.release.wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass

            do_POST = do_GET = do_PUT = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HTTPReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *answers: Answer | int) -> None:
        with self.lock:
            for answer in answers:
                self._script.append(Answer(status=answer) if isinstance(answer, int) else answer)

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[ReceivedRequest]:
        wait_until(
            lambda: len(self.requests) >= count,
            timeout=timeout,
            message=f"expected {count} requests, got {len(self.requests)}",
        )
        with self.lock:
            return list(self.requests)
