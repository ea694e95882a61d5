"""The image's long-running start commands (scripts/docker-entrypoint) stop by themselves on
SIGTERM: `docker stop` sends it to the container's PID 1, which ignores a signal it does not
handle, so a command without a handler is killed 10 s later, mid-session."""

from __future__ import annotations

import signal

from testsupport.processes import HostedSftp, hosted_sftp_env
from testsupport.waiting import port_listening


def test_serve_sftp_stops_cleanly_on_sigterm(tmp_path):
    server = HostedSftp(env=hosted_sftp_env(tmp_path))
    try:
        server.start()
        assert port_listening(server.port)
        server.proc.send_signal(signal.SIGTERM)
        # Exit status 0: it handled the signal and closed its listener itself (a process that
        # leaves SIGTERM to its default action is -15 here, and ignores it as a PID 1).
        assert server.proc.wait(timeout=10) == 0, server.log_tail()
        assert not port_listening(server.port)
    finally:
        server.cleanup()
