"""Who may log in to the hosted SFTP server: per supplier, public keys and/or one password.

The user name is the supplier's slug. Keys are parsed by asyncssh (the server's own parser),
so a key we accept here is one the server can check. The password is generated, returned
once and stored as Django's password hash; a login checks it with Django's hasher.
"""

from __future__ import annotations

import secrets

import asyncssh
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from common.text import text_problem
from suppliers.models import Supplier

from ..models import HostedSftpKey, HostedSftpPassword

MAX_KEY_TEXT = 16_384


def public_key_parse(text: str) -> tuple[str, str, str, str]:
    """(key type, base64, comment, SHA256 fingerprint) of one OpenSSH public key line."""
    text = (text or "").strip()
    if not text or len(text) > MAX_KEY_TEXT or "\n" in text:
        raise ValidationError(
            {"public_key": ["Give one public key line, e.g. 'ssh-ed25519 AAAA... me'."]}
        )
    problem = text_problem(text)
    if problem:
        # asyncssh takes a comment holding a NUL as it is; the database would not store it.
        raise ValidationError({"public_key": [problem]})
    try:
        key = asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError):
        raise ValidationError(
            {"public_key": ["This is not an SSH public key (ssh-ed25519, ecdsa, rsa)."]}
        )
    parts = text.split(None, 2)
    comment = parts[2].strip()[:200] if len(parts) > 2 else ""
    exported = key.export_public_key("openssh").decode().split()
    return exported[0], exported[1], comment, key.get_fingerprint("sha256")


@transaction.atomic
def hosted_key_add(*, supplier: Supplier, public_key: str) -> HostedSftpKey:
    """Let `supplier` log in with this public key; the same key twice is an error."""
    key_type, key_base64, comment, fingerprint = public_key_parse(public_key)
    already = ValidationError({"public_key": [f"This key ({fingerprint}) is already added."]})
    if HostedSftpKey.objects.filter(supplier=supplier, fingerprint=fingerprint).exists():
        raise already
    try:
        with transaction.atomic():
            return HostedSftpKey.objects.create(
                supplier=supplier,
                key_type=key_type,
                key_base64=key_base64,
                comment=comment,
                fingerprint=fingerprint,
            )
    except IntegrityError:  # added at the same moment (a double click): the same answer
        raise already from None


@transaction.atomic
def hosted_key_remove(*, supplier: Supplier, fingerprint: str) -> None:
    """Stop this key logging `supplier` in; an unknown fingerprint is an error."""
    deleted, _ = HostedSftpKey.objects.filter(supplier=supplier, fingerprint=fingerprint).delete()
    if not deleted:
        raise ValidationError({"fingerprint": [f"No key {fingerprint!r} for {supplier.slug}."]})


@transaction.atomic
def hosted_password_generate(*, supplier: Supplier) -> str:
    """A new password for `supplier` (replacing any), returned once and stored hashed."""
    password = secrets.token_urlsafe(18)
    HostedSftpPassword.objects.update_or_create(
        supplier=supplier, defaults={"password_hash": make_password(password)}
    )
    return password


@transaction.atomic
def hosted_password_remove(*, supplier: Supplier) -> None:
    HostedSftpPassword.objects.filter(supplier=supplier).delete()


# --- Reads (the server's login checks) -------------------------------------------------------


def hosted_keys_for(supplier: Supplier) -> list[HostedSftpKey]:
    return list(HostedSftpKey.objects.filter(supplier=supplier))


def login_supplier(username: str) -> Supplier | None:
    """The active supplier this user name is, or None. A NUL, which no slug holds and which
    PostgreSQL refuses in a query (an error in the server's login, and the try not counted:
    found in review), is no supplier."""
    if "\0" in username:
        return None
    return Supplier.objects.filter(slug=username, is_active=True).first()


def login_key_allowed(username: str, key_type: str, key_base64: str) -> bool:
    supplier = login_supplier(username)
    return (
        supplier is not None
        and HostedSftpKey.objects.filter(
            supplier=supplier, key_type=key_type, key_base64=key_base64
        ).exists()
    )


def login_password_allowed(username: str, password: str) -> bool:
    supplier = login_supplier(username)
    if supplier is None:
        make_password(password)  # as slow as a real check: no user-name oracle by timing
        return False
    stored = HostedSftpPassword.objects.filter(supplier=supplier).first()
    if stored is None:
        make_password(password)
        return False
    return check_password(password, stored.password_hash)


def login_proof(username: str, method: str, key: tuple[str, str] | None = None):
    """What a login just made stands on, to ask `login_still_allowed` about later: the key
    (type, base64), or the password's stored hash (a new password is a new hash)."""
    if method == "publickey":
        return key
    supplier = login_supplier(username)
    stored = HostedSftpPassword.objects.filter(supplier=supplier).first() if supplier else None
    return stored.password_hash if stored else None


def login_still_allowed(username: str, method: str, proof) -> bool:
    """Whether a session logged in by `method` on `proof` may go on: its supplier is active
    and the key is still on file, or the password the one it logged in with."""
    supplier = login_supplier(username)
    if supplier is None or proof is None:
        return False
    if method == "publickey":
        key_type, key_base64 = proof
        return HostedSftpKey.objects.filter(
            supplier=supplier, key_type=key_type, key_base64=key_base64
        ).exists()
    if method == "password":
        return HostedSftpPassword.objects.filter(supplier=supplier, password_hash=proof).exists()
    return False
