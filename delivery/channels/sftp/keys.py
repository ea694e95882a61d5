"""The one reading of SSH keys: a pinned host key and a stored private key.

The portal form, the services (`destination_set_sftp`, `set_channel`) and the connection all
call these, so a key that is accepted when saved is the key the connection uses, and a key the
connection would refuse is refused when saved, with the same message.

Host key: "TYPE BASE64" (a whole known_hosts line "HOST TYPE BASE64 [comment]" is accepted
too); the type must be one we can verify (see KEY_ALGORITHMS), the data strict base64, and
paramiko must parse it as a key of that very type. It is stored normalised ("TYPE BASE64").

Private key: unencrypted OpenSSH or PEM, RSA, Ed25519 or ECDSA (the type is read by
`cryptography`, then the key loaded by paramiko). A passphrase is refused: the key is
encrypted at rest here, and a passphrase stored next to it would add nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.message import Message

from .errors import SftpError

# The SSH host-key algorithms that verify each pinned key type (paramiko no longer offers
# SHA-1 "ssh-rsa" signatures; an "ssh-rsa" key is verified with rsa-sha2-*).
KEY_ALGORITHMS = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
}


def sha256_fingerprint(key_blob: bytes) -> str:
    """The fingerprint as OpenSSH prints it: SHA256:<unpadded base64>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def _host_key_error(message: str) -> SftpError:
    return SftpError(message, kind="config", retryable=True, field="host_key")


def host_key_parse(line: str) -> tuple[str, bytes]:
    """A pinned host key's type and key blob; raises SftpError (field "host_key")."""
    parts = (line or "").split()
    if len(parts) >= 3 and parts[0] not in KEY_ALGORITHMS and parts[1] in KEY_ALGORITHMS:
        parts = parts[1:]  # a whole known_hosts line: drop the host name
    if len(parts) < 2:
        raise _host_key_error(
            'Not a valid SSH public key: the pinned host key must look like "ssh-ed25519 AAAA...".'
        )
    key_type, b64 = parts[0], parts[1]
    if key_type not in KEY_ALGORITHMS:
        raise _host_key_error(
            f"Unsupported host key type {key_type!r}; use one of {', '.join(KEY_ALGORITHMS)}."
        )
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise _host_key_error("Not a valid SSH public key: the data is not valid base64.")
    try:
        embedded_type = Message(blob).get_text()
    except Exception:  # noqa: BLE001 - any parse failure means a malformed key blob
        embedded_type = ""
    if embedded_type != key_type:
        raise _host_key_error(
            f"Not a valid SSH public key: it says {key_type!r} but its data is not a "
            f"{key_type} key."
        )
    try:
        key = paramiko.PKey.from_type_string(key_type, blob)
    except Exception as exc:  # noqa: BLE001 - paramiko raises many types for bad key data
        raise _host_key_error(f"Not a valid SSH public key: {exc or 'malformed key data'}.")
    if key.asbytes() != blob:  # paramiko pads a short Ed25519 blob instead of refusing it
        raise _host_key_error("Not a valid SSH public key: the key data is cut short or padded.")
    return key_type, blob


def host_key_clean(line: str) -> str:
    """The pinned host key normalised to "TYPE BASE64"; raises SftpError (field "host_key")."""
    key_type, blob = host_key_parse(line)
    return f"{key_type} {base64.b64encode(blob).decode()}"


def _private_key_error(message: str) -> SftpError:
    return SftpError(message, kind="config", retryable=True, field="private_key")


_UNREADABLE = "Not a private key paramiko can read (Ed25519, ECDSA or RSA): it cannot be read"


def private_key_load(text: str) -> paramiko.PKey:
    """The stored private key as a paramiko key; raises SftpError (field "private_key")."""
    data = (text or "").strip().encode() + b"\n"
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=None)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise _private_key_error(
            "The private key is protected by a passphrase; give one without a passphrase "
            "(it is stored encrypted here)."
        )
    except (ValueError, paramiko.SSHException) as exc:
        raise _private_key_error(f"{_UNREADABLE} ({exc}).")
    if isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    elif isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    else:
        raise _private_key_error("Unsupported private key type; use RSA, Ed25519 or ECDSA.")
    try:
        return key_class.from_private_key(io.StringIO(data.decode()))
    except (paramiko.SSHException, ValueError) as exc:
        raise _private_key_error(f"{_UNREADABLE} ({exc}).")


def private_key_clean(text: str) -> str:
    """The private key as stored (stripped, one final newline); raises SftpError."""
    private_key_load(text)
    return (text or "").strip() + "\n"
