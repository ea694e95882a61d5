"""A real HTTP receiver for tests and benchmarks, on 127.0.0.1 and a free port.

`HTTPReceiver` records every request and answers from a script (status codes, redirects,
delays), then with its default answer. Used through the root conftest's `http_receiver` fixture.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testsupport.waiting import wait_until


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
