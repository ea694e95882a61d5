"""A real OpenSSH SFTP server for tests and the benchmark, on a free 127.0.0.1 port.

sshd runs from a private temporary directory with its own generated host key and a
generated client key in `authorized_keys`; every session is forced into `internal-sftp`
(no shell, no forwarding) and starts in `upload_root`.

Privileges: sshd started as root would need the system's privilege separation directory
(/run/sshd, absent in containers) and would log users in as root. Instead, when we are root,
sshd runs as the unprivileged `nobody` account (Python's `subprocess` drops the uid/gid), and
an unprivileged sshd can only log in as itself: the test account is `nobody`, owning nothing
but this temporary directory. (Its PAM account check uses the generic `other` stack.)
When we are not root (a laptop), sshd runs as the current user, who is the test account.
Either way nothing outside the temporary directory is touched and no system account changes.

Password logins are not exercised for success: an unprivileged sshd cannot read
/etc/shadow, and setting a system password for a test would be worse. Password auth is still
offered, so a wrong password is refused by the real server.

sshd's own log (connections, authentication) goes to `log_path`. internal-sftp's per-file
log cannot reach it (a session's stderr is the client's channel), so tests watch the upload
directory with inotify instead.

No chroot: OpenSSH requires every component of a chroot path to be root-owned and not
writable by others, which /tmp (mode 1777) is not. Remote paths are therefore the local
absolute paths under `upload_root`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD_CANDIDATES = ["/usr/sbin/sshd", "sshd"]
SSH_KEYGEN_CANDIDATES = ["ssh-keygen", "/usr/bin/ssh-keygen"]
SFTP_CANDIDATES = ["sftp", "/usr/bin/sftp"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _resolve(candidates: list[str]) -> str | None:
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found and os.access(found, os.X_OK):
            return os.path.abspath(found)
    return None


def sha256_fingerprint(key_blob_b64: str) -> str:
    digest = hashlib.sha256(base64.b64decode(key_blob_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass
class SftpTestServer:
    sshd: str
    ssh_keygen: str
    host: str = "127.0.0.1"
    port: int = 0
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="op-sftp-")))
    process: subprocess.Popen | None = None
    host_key_line: str = ""
    private_key: str = ""
    username: str = ""
    _uid: int = -1
    _gid: int = -1

    # --- paths ---------------------------------------------------------------------------

    @property
    def upload_root(self) -> Path:
        """Where sessions start; remote paths equal these local paths (no chroot)."""
        return self.base / "root"

    @property
    def log_path(self) -> Path:
        return self.base / "sshd.log"

    @property
    def private_key_path(self) -> Path:
        return self.base / "client_ed25519"

    @property
    def host_key_fingerprint(self) -> str:
        return sha256_fingerprint(self.host_key_line.split()[1])

    @property
    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_key_line}"

    # --- setup ---------------------------------------------------------------------------

    def prepare(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam("nobody")
        else:
            account = pwd.getpwuid(os.getuid())
        self._uid, self._gid, self.username = account.pw_uid, account.pw_gid, account.pw_name
        self.base.chmod(0o700)
        self.upload_root.mkdir()
        self.keygen("ed25519", self.base / "ssh_host_ed25519_key")
        pub = (self.base / "ssh_host_ed25519_key.pub").read_text().split()
        self.host_key_line = f"{pub[0]} {pub[1]}"
        self.private_key = self.add_client_key("ed25519", self.private_key_path)
        self._own(self.base)

    def keygen(self, key_type: str, path: Path) -> None:
        args = [self.ssh_keygen, "-q", "-t", key_type, "-N", "", "-C", "op-test", "-f", str(path)]
        if key_type == "rsa":
            args[4:4] = ["-b", "2048"]
        subprocess.run(args, check=True, capture_output=True, timeout=60)

    def add_client_key(self, key_type: str, path: Path | None = None) -> str:
        """Generate a client key of this type, authorise it, return its private key text."""
        path = path or self.base / f"client_{key_type}"
        if not path.exists():
            self.keygen(key_type, path)
            with (self.base / "authorized_keys").open("a") as keys:
                keys.write(Path(f"{path}.pub").read_text())
            self._own(self.base)
        return path.read_text()

    def make_dir(self, relative: str, *, writable: bool = True) -> Path:
        """A directory under upload_root that the SFTP account can (or cannot) write in."""
        path = self.upload_root / relative
        path.mkdir(parents=True, exist_ok=True)
        self._own(path)
        path.chmod(0o755 if writable else 0o555)
        return path

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        for root, dirs, files in os.walk(path):
            os.chown(root, self._uid, self._gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), self._uid, self._gid, follow_symlinks=False)

    def _config(self) -> str:
        root = self.upload_root
        return "\n".join(
            [
                f"Port {self.port}",
                f"ListenAddress {self.host}",
                f"HostKey {self.base / 'ssh_host_ed25519_key'}",
                f"PidFile {self.base / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.base / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication no",
                # As `nobody` (password "*") sshd without PAM calls the account locked; with PAM,
                # sshd's PAM service is its program name (see _sshd_link), so the generic
                # `other` stack applies. As ourselves (not root), no PAM is needed.
                f"UsePAM {'yes' if os.geteuid() == 0 else 'no'}",
                "StrictModes no",
                "PermitRootLogin no",
                f"AllowUsers {self.username}",
                "AllowTcpForwarding no",
                "AllowAgentForwarding no",
                "X11Forwarding no",
                "PermitTTY no",
                "MaxStartups 50:30:100",
                "LogLevel INFO",
                "Subsystem sftp internal-sftp",
                f"ForceCommand internal-sftp -d {root}",
                "",
            ]
        )

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, *, port: int | None = None, timeout: float = 15.0) -> None:
        """Start sshd (on `port`, or a free one) and return once it answers with a banner."""
        if not self.username:
            self.prepare()
        last_error = ""
        for _ in range(5):
            self.port = port or _free_port()
            config = self.base / "sshd_config"
            config.write_text(self._config())
            self._own(config)
            log = self.log_path.open("ab")
            kwargs = {}
            if os.geteuid() == 0:
                kwargs = {"user": self._uid, "group": self._gid, "extra_groups": []}
            self.process = subprocess.Popen(
                [str(self._sshd_link()), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                cwd=self.base,
                **kwargs,
            )
            log.close()
            if self._wait_for_banner(timeout):
                return
            last_error = self.log_path.read_text(errors="replace")[-2000:]
            self.stop()
            if port is not None:
                break
        raise RuntimeError(f"sshd did not start: {last_error}")

    def _sshd_link(self) -> Path:
        """sshd under our own name: its PAM service is its program name, so PAM uses the
        distribution's generic `other` stack instead of the system sshd's (motd, loginuid)."""
        link = self.base / "op-test-sshd"
        if not link.exists():
            link.symlink_to(self.sshd)
        return link

    def _wait_for_banner(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"SSH-2.0-"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def session_pids(self) -> list[int]:
        """The processes sshd forked for connections (each calls setsid, so they are not in
        sshd's process group): found through /proc (Linux)."""
        if self.process is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat_file:
                    # pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
                    ppid = int(stat_file.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        found, todo = [], list(children.get(self.process.pid, []))
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def stop(self) -> None:
        """Stop sshd and the sessions it forked, as a crashed server would; connects fail."""
        if self.process is None:
            return
        sessions = self.session_pids()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> SftpTestServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def find_binaries() -> tuple[str | None, str | None]:
    return _resolve(SSHD_CANDIDATES), _resolve(SSH_KEYGEN_CANDIDATES)


def find_sftp_client() -> str | None:
    return _resolve(SFTP_CANDIDATES)


class DirectoryWatch:
    """Linux inotify on one directory: every create, write, close, rename and delete, in order.

    The kernel queues the events whatever process causes them (here, sshd), so a test can
    upload first and read afterwards without racing the writer.
    """

    IN_MODIFY = 0x002
    IN_CLOSE_WRITE = 0x008
    IN_MOVED_FROM = 0x040
    IN_MOVED_TO = 0x080
    IN_CREATE = 0x100
    IN_DELETE = 0x200
    IN_Q_OVERFLOW = 0x4000
    NAMES = {
        IN_MODIFY: "modify",
        IN_CLOSE_WRITE: "close_write",
        IN_MOVED_FROM: "moved_from",
        IN_MOVED_TO: "moved_to",
        IN_CREATE: "create",
        IN_DELETE: "delete",
    }

    def __init__(self, path: Path) -> None:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = sum(self.NAMES)
        if libc.inotify_add_watch(self.fd, str(path).encode(), mask) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path} failed")

    def events(self) -> list[tuple[str, str]]:
        """Everything queued so far, as (event, file name), oldest first."""
        import struct

        found: list[tuple[str, str]] = []
        while True:
            try:
                buffer = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(buffer):
                _wd, mask, _cookie, length = struct.unpack_from("iIII", buffer, offset)
                raw = buffer[offset + 16 : offset + 16 + length]
                offset += 16 + length
                if mask & self.IN_Q_OVERFLOW:
                    raise AssertionError("inotify queue overflowed: events were lost")
                name = raw.rstrip(b"\0").decode()
                for bit, label in self.NAMES.items():
                    if mask & bit:
                        found.append((label, name))

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture(name="sftp_server")
def sftp_server_fixture(settings):
    """A running OpenSSH sshd for one test, on 127.0.0.1: private networks are allowed for
    the test (delivery.netguard.private_networks_allowed), or the SFTP address check would
    refuse it, as it must in production.

    Attributes: host, port, host_key_line ("TYPE BASE64"), host_key_fingerprint, username,
    private_key (OpenSSH text) and private_key_path, upload_root (the local directory, which is
    also the remote path, files land in), log_text(); stop() and start(port=...) to take it
    down and bring it back. Import `sftp_server_fixture` into a test module to use it.
    """
    from testsupport.executables import require_executable

    sshd = require_executable(SSHD_CANDIDATES, "openssh-server")
    keygen = require_executable(SSH_KEYGEN_CANDIDATES, "openssh-client")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    server = SftpTestServer(sshd=sshd, ssh_keygen=keygen)
    try:
        server.start()
        yield server
    finally:
        server.close()
