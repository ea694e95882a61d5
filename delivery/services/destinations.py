"""Destinations: turning channels on and off, and their validation."""

from __future__ import annotations

import posixpath

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from orders.models import OrderEventType
from suppliers.models import Supplier
from suppliers.services import emails_clean

from ..channels import channel_get
from ..channels.sftp.errors import SftpError
from ..channels.sftp.keys import host_key_clean, private_key_clean
from ..channels.sftp.target import host_name_check
from ..formats import format_available, format_choices
from ..hosted.credentials import hosted_key_add
from ..models import Channel, Destination
from ..signing import webhook_secret_clean, webhook_secret_generate
from .channel_off import destination_pending_cancel
from .webhook_urls import webhook_url_checked


def destination_email_ensure(*, supplier: Supplier) -> Destination:
    """The supplier's email destination, made (on, to its order emails) if it is missing.

    The one way an email channel is made: for a new supplier when `supplier_create` announces
    it (delivery/receivers.py), and at dispatch for suppliers made otherwise (the admin, old
    data) that have none yet (delivery/dispatcher.py).
    """
    destination, _ = Destination.objects.get_or_create(
        supplier=supplier,
        channel=Channel.EMAIL,
        defaults={"email_addresses": supplier.order_emails, "enabled": True},
    )
    return destination


def _destination_for_update(*, supplier: Supplier, channel: str) -> Destination:
    destination = (
        Destination.objects.select_for_update().filter(supplier=supplier, channel=channel).first()
    )
    return destination or Destination(supplier=supplier, channel=channel)


def event_types_listed(event_types, *, field: str) -> list[str]:
    """The names in `event_types`: a comma-separated string or a list of strings; anything
    else (a number, an object, nested lists: the admin's JSON box takes any) is refused, as
    the dispatcher could not read it."""
    if not event_types:
        return []
    if isinstance(event_types, str):
        return [t.strip() for t in event_types.split(",") if t.strip()]
    if not isinstance(event_types, (list, tuple)) or not all(
        isinstance(t, str) for t in event_types
    ):
        raise ValidationError(
            {field: ['List the event types by name, e.g. ["order.created", "order.cancelled"].']}
        )
    return list(event_types)


def event_types_clean(event_types) -> list[str]:
    """A supplier destination's event types: known names only; none means the channel's."""
    event_types = event_types_listed(event_types, field="event_types")
    unknown = sorted(set(event_types) - set(OrderEventType.values))
    if unknown:
        raise ValidationError(
            {
                "event_types": [
                    f"Unknown event type {', '.join(unknown)}; use "
                    + ", ".join(OrderEventType.values)
                    + "."
                ]
            }
        )
    return sorted(set(event_types))


def _save(destination: Destination) -> Destination:
    # The URL was checked by webhook_url_clean, which also takes numeric hosts (2130706433)
    # that URLField refuses; netguard checks the address again on every connection.
    destination.full_clean(exclude=["webhook_url"], validate_unique=False)
    destination.save()
    return destination


@transaction.atomic
def destination_set_email(
    *, supplier: Supplier, addresses, attach_format: str | None = None
) -> Destination:
    """Order emails on, to these addresses; `attach_format` names the format of the order
    file attached to new-order emails ("": none; None: keep what is set)."""
    if isinstance(addresses, (list, tuple)):
        addresses = ",".join(addresses)
    cleaned = emails_clean(value=addresses or "", field="to")
    attach = "email_attach_format"
    if attach_format and not format_available(attach_format, supplier=supplier, field=attach):
        names = ", ".join(name for name, _ in format_choices(supplier, field=attach))
        raise ValidationError({"attach": [f"Unknown format '{attach_format}'; use {names}."]})
    destination = _destination_for_update(supplier=supplier, channel=Channel.EMAIL)
    destination.email_addresses = cleaned
    if attach_format is not None:
        destination.email_attach_format = attach_format
    destination.enabled = True
    destination.disabled_reason = ""
    return _save(destination)


@transaction.atomic
def destination_set_webhook(
    *, supplier: Supplier, url: str, secret: str | None = None, event_types=None
) -> tuple[Destination, str | None]:
    """Turn the webhook on; return it and the secret when one was generated (shown once)."""
    url = webhook_url_checked(url)
    types = event_types_clean(event_types)
    destination = _destination_for_update(supplier=supplier, channel=Channel.WEBHOOK)
    generated = webhook_configure(destination, url=url, secret=secret, event_types=types)
    return _save(destination), generated


def webhook_configure(destination: Destination, *, url: str, secret: str | None, event_types):
    """Point a webhook row (a supplier's or a retailer's) at `url` and turn it on; keep its
    secret, or take the one given, or make one. Returns the secret it made, to show once."""
    generated = None
    if secret:
        destination.webhook_secret = webhook_secret_clean(value=secret, field="secret")
    elif not destination.webhook_secret:
        generated = webhook_secret_generate()
        destination.webhook_secret = generated
    destination.webhook_url = url
    destination.event_types = event_types
    destination.enabled = True
    destination.disabled_reason = ""
    return generated


@transaction.atomic
def webhook_secret_rotate(*, destination: Destination) -> str:
    """A new secret, effective at once; returned to be shown once."""
    if not channel_get(destination.channel).signed:
        raise ValidationError({"channel": ["Only a webhook has a signing secret."]})
    secret = webhook_secret_generate()
    Destination.objects.filter(pk=destination.pk).update(
        webhook_secret=secret,  # encrypted by the field
        updated_at=timezone.now(),
    )
    destination.webhook_secret = secret
    return secret


def _sftp_error(exc: SftpError) -> ValidationError:
    """A key or hosted-settings problem as the ValidationError of the field it concerns."""
    return ValidationError({exc.field or "host": [exc.message]})


def _sftp_hosted(destination: Destination, *, supplier: Supplier) -> None:
    """Point the destination at our hosted server: files are written into the hosted storage
    under the supplier's slug (delivery/hosted/storage.py); the row holds no host, no
    credential and no directory that could point elsewhere."""
    destination.sftp_hosted = True
    destination.sftp_host, destination.sftp_port = "", 22
    destination.sftp_username = supplier.slug
    destination.sftp_host_key = ""
    destination.sftp_path = "orders"
    destination.sftp_password = ""
    destination.sftp_private_key = ""


def _same_directory(first: str, second: str) -> bool:
    """Whether two directories given for one server name the same one, as written."""
    first, second = (first or "").strip(), (second or "").strip()
    return bool(first and second) and posixpath.normpath(first) == posixpath.normpath(second)


SFTP_INTERVAL_MAX_MINUTES = 24 * 60
SFTP_INTERVAL_RULE = "The interval is 1 to 1440 minutes."


def sftp_updates_path_clean(updates_path: str, *, path: str) -> str:
    """The updates directory of a supplier's own server, stripped, or ValidationError naming
    `updates_path`: one rule for `set_channel`, the portal and the admin."""
    updates_path = (updates_path or "").strip()
    if len(updates_path) > 500 or "\0" in updates_path:
        raise ValidationError({"updates_path": ["Give a directory path (500 characters at most)."]})
    if _same_directory(updates_path, path):
        # Order files are CSV files too: each run would take the ones it had just uploaded
        # as update files and move them to failed/ (found in review).
        raise ValidationError(
            {
                "updates_path": [
                    f"Order files go to {path}, where update files are "
                    "taken from too: each run would take its order files as update files. "
                    'Give each its own directory (an updates directory "" takes none).'
                ]
            }
        )
    return updates_path


def _sftp_own_server(
    destination: Destination, *, host, port, username, password, private_key, path, host_key
) -> None:
    """Point the destination at the supplier's own server. A blank password and key keep the
    stored credential only while host, port and user name stay what they were: a stored
    credential is never sent to another server or account (nor the hosted server's, which no
    row holds)."""
    host = (host or "").strip()
    username = (username or "").strip()
    path = (path or "").strip()
    if not host:
        raise ValidationError({"host": ["Give the SFTP server's host name."]})
    try:
        host_name_check(host)
    except SftpError as exc:
        raise _sftp_error(exc)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValidationError({"port": ["The port is a number."]})
    if not 1 <= port <= 65535:
        raise ValidationError({"port": ["The port is between 1 and 65535."]})
    if not username:
        raise ValidationError({"username": ["Give the SFTP user name."]})
    if password and private_key:
        raise ValidationError(
            {"password": ["Give either a password or a private key (exactly one)."]}
        )
    same_account = (
        destination.pk is not None
        and not destination.sftp_hosted
        and (destination.sftp_host, destination.sftp_port, destination.sftp_username)
        == (host, port, username)
    )
    if not password and not private_key:
        if same_account and (destination.sftp_password or destination.sftp_private_key):
            password = destination.sftp_password
            private_key = destination.sftp_private_key
        elif destination.pk is not None and destination.sftp_hosted:
            raise ValidationError(
                {
                    "password": [
                        "This file drop is on the platform's hosted server, whose host, port, "
                        "user name and directory cannot be changed. To use your own server "
                        "instead, give its password or private key."
                    ]
                }
            )
        elif destination.pk is not None and (
            destination.sftp_password or destination.sftp_private_key
        ):
            raise ValidationError(
                {
                    "password": [
                        "The host, port or user name changed, so the stored password or key "
                        "was not kept: give the password or private key for this server."
                    ]
                }
            )
        else:
            raise ValidationError(
                {"password": ["Give either a password or a private key (exactly one)."]}
            )
    elif private_key:
        try:
            private_key = private_key_clean(private_key)
        except SftpError as exc:
            raise _sftp_error(exc)
    if not path:
        raise ValidationError({"path": ["Give the directory files go to."]})
    try:
        host_key = host_key_clean(host_key)
    except SftpError as exc:
        raise _sftp_error(exc)
    destination.sftp_hosted = False
    destination.sftp_host, destination.sftp_port = host, port
    destination.sftp_username = username
    destination.sftp_password = password or ""
    destination.sftp_private_key = private_key or ""
    destination.sftp_path = path
    destination.sftp_host_key = host_key


@transaction.atomic
def destination_set_sftp(
    *,
    supplier: Supplier,
    host: str = "",
    port: int = 22,
    username: str = "",
    password: str | None = None,
    private_key: str | None = None,
    path: str = "",
    host_key: str = "",
    interval_minutes: int | None = None,
    file_format: str | None = None,
    hosted: bool = False,
    public_key: str | None = None,
    updates_path: str | None = None,
) -> Destination:
    """Turn the file drop on: the supplier's own server, or with hosted=True the platform's
    (then host, port, user name, credentials, directory and key are the platform's, and the
    arguments for them are ignored). A blank password and key keep the stored one, as long
    as host, port and user name are unchanged. An interval or format of None keeps the one
    set (a new drop: every 15 minutes, the standard CSV): adding a key or a new password
    set a supplier's own format back to CSV."""
    if interval_minutes is not None:
        try:
            interval_minutes = int(interval_minutes)
        except (TypeError, ValueError):
            raise ValidationError({"every": ["The interval is a whole number of minutes."]})
        if not 1 <= interval_minutes <= SFTP_INTERVAL_MAX_MINUTES:
            raise ValidationError({"every": [SFTP_INTERVAL_RULE]})
    if file_format is not None and not format_available(
        file_format, supplier=supplier, field="sftp_format"
    ):
        names = ", ".join(name for name, _ in format_choices(supplier, field="sftp_format"))
        raise ValidationError({"format": [f"Unknown format '{file_format}'; use {names}."]})
    destination = _destination_for_update(supplier=supplier, channel=Channel.SFTP)
    if hosted:
        _sftp_hosted(destination, supplier=supplier)
        if public_key:
            hosted_key_add(supplier=supplier, public_key=public_key)
    else:
        _sftp_own_server(
            destination,
            host=host,
            port=port,
            username=username,
            password=password,
            private_key=private_key,
            path=path,
            host_key=host_key,
        )
    if not hosted:
        destination.sftp_updates_path = sftp_updates_path_clean(
            destination.sftp_updates_path if updates_path is None else updates_path,
            path=destination.sftp_path,
        )
    if interval_minutes is not None:
        destination.sftp_interval_minutes = interval_minutes
    if file_format is not None:
        destination.sftp_format = file_format
    destination.enabled = True
    destination.disabled_reason = ""
    return _save(destination)


@transaction.atomic
def destination_disable(
    *, supplier: Supplier, channel: str, reason: str = ""
) -> Destination | None:
    """Turn a channel off; its pending deliveries are cancelled now (`channel_off`), and
    `destination.pending_cancelled` says how many. Turning it on again sends new events.
    A channel already off keeps its reason (`destination_off`)."""
    if channel not in Channel.values:
        raise ValidationError(
            {"channel": [f"Unknown channel '{channel}'; use {', '.join(Channel.values)}."]}
        )
    destination = (
        Destination.objects.select_for_update().filter(supplier=supplier, channel=channel).first()
    )
    if destination is None:
        return None
    return destination_off(destination, reason=reason)


def destination_off(destination: Destination, *, reason: str = "") -> Destination:
    """Turn this (locked) destination off and cancel its pending deliveries
    (`pending_cancelled` says how many). One already off keeps the reason it went off for (a
    webhook's "410 Gone", say: what ops need to see) unless a new `reason` is given, and
    `already_off` says so."""
    destination.already_off = not destination.enabled
    if not destination.already_off or reason:
        destination.enabled = False
        destination.disabled_reason = (reason or "turned off")[:300]
        destination.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    destination.pending_cancelled = destination_pending_cancel(destination=destination)
    return destination
