"""What the settings page shows about the hosted SFTP server for one supplier."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from orders.models import UpdateFile, UpdateFileSource

from ..models import Channel, Delivery, HostedSftpKey, HostedSftpPassword
from .hostkey import host_key_fingerprint

RECENT = 10


@dataclass(frozen=True)
class HostedOverview:
    address: str
    port: int
    username: str
    fingerprint: str
    keys: list
    has_password: bool
    files_sent: list
    files_received: list


def hosted_overview(*, supplier) -> HostedOverview:
    return HostedOverview(
        address=settings.HOSTED_SFTP_ADDRESS,
        port=settings.HOSTED_SFTP_PORT,
        username=supplier.slug,
        fingerprint=host_key_fingerprint(),
        keys=list(HostedSftpKey.objects.filter(supplier=supplier)),
        has_password=HostedSftpPassword.objects.filter(supplier=supplier).exists(),
        files_sent=list(
            Delivery.objects.filter(supplier=supplier, channel=Channel.SFTP).order_by(
                "-created_at", "-id"
            )[:RECENT]
        ),
        files_received=list(
            UpdateFile.objects.filter(supplier=supplier, source=UpdateFileSource.SFTP)
            .defer("content", "result")
            .order_by("-created_at", "-id")[:RECENT]
        ),
    )
