"""The SFTP file drop, one module per concern.

- errors.py: SftpError, the one error every step raises.
- keys.py: the one host-key and one private-key reader (form, services and connection).
- target.py: where a supplier's own server is (hosted destinations are written locally).
- session.py: address check, connect, host-key pinning, authentication, SFTP.
- upload.py: the pipelined upload (the only user of paramiko's private methods).
- checks.py: the settings page's "Fetch fingerprint" and "Test connection".
- channel.py: SftpChannel, the delivery channel (one connection per destination and run).
"""

from .channel import SftpChannel
from .checks import sftp_fetch_host_key, sftp_test_connection
from .errors import SftpError
from .keys import (
    host_key_clean,
    host_key_parse,
    private_key_clean,
    private_key_load,
    sha256_fingerprint,
)
from .session import SftpSession, sftp_session
from .target import SftpTarget, sftp_target_for
from .upload import PIPELINE_FILES

__all__ = [
    "PIPELINE_FILES",
    "SftpChannel",
    "SftpError",
    "SftpSession",
    "SftpTarget",
    "host_key_clean",
    "host_key_parse",
    "private_key_clean",
    "private_key_load",
    "sftp_fetch_host_key",
    "sftp_session",
    "sftp_target_for",
    "sftp_test_connection",
    "sha256_fingerprint",
]
