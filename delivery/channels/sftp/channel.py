"""The SFTP file drop: one file per order, over one connection per run.

`send_batch` takes the due deliveries of a destination (several destinations are handled one
connection each), takes each order's file (rendered with the destination's format on the first
try and kept: delivery/formats/files.py) and uploads it through this package's session
(checked address, pinned host key, temporary name then rename). The file name is the format's
(`<number>.<ext>` for the built-in ones) and the kept file's, so a retry (or a redelivery)
replaces the same file, with the same bytes, instead of adding one. A hosted destination (our
own server, delivery/hosted/) is not reached over the network: each kept file is written into
the hosted storage, ROOT/<slug>/orders/, under a temporary name and renamed (`_write_hosted`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.db import IntegrityError, transaction

from orders.documents import orders_with_document_relations
from orders.models import Order, OrderEvent, OrderEventType

from ...formats import UnknownFormat, format_for
from ...formats.files import delivery_files, file_bytes
from ...hosted.storage import (
    NotAFileName,
    file_name_refusal,
    file_write_atomic,
    supplier_folder,
)
from ...models import Delivery
from ..base import BaseChannel, DeliveryFailed, SendResult
from . import upload
from .errors import SftpError
from .session import sftp_session
from .target import sftp_target_for
from .updates import own_server_updates_collect

logger = logging.getLogger(__name__)


def _orders_by_delivery(deliveries: list) -> dict[int, Order]:
    """Each delivery's order, loaded for rendering in a fixed number of queries."""
    event_ids = {d.event_id for d in deliveries if d.event_id}
    order_by_event = dict(OrderEvent.objects.filter(id__in=event_ids).values_list("id", "order_id"))
    orders = {
        order.id: order
        for order in orders_with_document_relations(
            Order.objects.filter(id__in=set(order_by_event.values()))
        )
    }
    return {
        d.pk: orders[order_by_event[d.event_id]]
        for d in deliveries
        if d.event_id in order_by_event and order_by_event[d.event_id] in orders
    }


def _identities_follow_file_names(work: list, kept: dict) -> None:
    """A delivery's identity is its file's name: named by the format at dispatch, the file is
    named at its first try, and a pattern (or format) changed in between left the delivery
    listed under a name no file has. Its first try sets it; no later try changes it."""
    for delivery, _ in work:
        made = kept[delivery.pk]
        if isinstance(made, Exception) or made.file_name == delivery.identity:
            continue
        try:
            with transaction.atomic():
                Delivery.objects.filter(pk=delivery.pk).update(identity=made.file_name)
        except IntegrityError:
            continue  # another delivery has that identity: this one keeps its own
        delivery.identity = made.file_name


SFTP_LEASE_SECONDS_PER_FILE = 0.5


class SftpChannel(BaseChannel):
    name = "sftp"
    # One file per order: only new orders go to the file drop, whatever the destination lists.
    default_event_types = frozenset({OrderEventType.CREATED})
    allowed_event_types = default_event_types
    scheduled = True

    def wants(self, *, destination, event, cancelled_by_supplier: bool) -> bool:
        return event.type in self.default_event_types

    def identity(self, *, destination, event) -> str:
        # The file name: a retry or a redelivery replaces the same file.
        try:
            return format_for(destination.sftp_format, destination=destination).file_name(
                event.order
            )
        except UnknownFormat:
            return f"{event.order.number}.{destination.sftp_format}"

    def target(self, destination) -> str:
        d = destination
        if d.sftp_hosted:
            return f"hosted:{d.supplier.slug}/orders"
        return f"{d.sftp_username}@{d.sftp_host}:{d.sftp_port}{d.sftp_path}"

    def recipient(self, *, destination, order) -> str:
        if destination.sftp_hosted:
            return f"hosted:{destination.supplier.slug}/orders"
        return f"sftp://{destination.sftp_host}:{destination.sftp_port}{destination.sftp_path}"

    def lease_seconds(self, *, rows: int) -> float:
        from django.conf import settings

        # A run holds its rows for the whole upload over one connection: half a second a
        # file on top of the claim (pipelined uploads take milliseconds each). Not ten
        # minutes whatever the size: a worker killed mid-run held a handful of files that
        # long (found by bench/chaos.py). Should a run outlive its lease, the next run
        # writes the same file names again, which replaces them.
        return settings.DELIVERY_CLAIM_SECONDS + rows * SFTP_LEASE_SECONDS_PER_FILE

    def run_due(self, *, destination, now) -> bool:
        # Five seconds early: the beat comes round each minute, a little later each time the
        # worker is busy. A run that failed or never reported is due at its retry time.
        from django.conf import settings

        soon = now + timedelta(seconds=5)
        d = destination
        if d.sftp_retry_at is not None and d.sftp_retry_at <= soon:
            return True
        interval = timedelta(
            seconds=d.sftp_interval_minutes * settings.SFTP_INTERVAL_MINUTE_SECONDS
        )
        return d.sftp_last_run_at is None or d.sftp_last_run_at + interval <= soon

    def collect(self, destination) -> bool:
        """A supplier's own server: the update files it dropped since the last run (False
        when its server could not be reached or dropped the connection). The hosted server
        applies its files as their uploads close, and the sweep queues again the ones whose
        apply never happened, for every supplier, drop on or off
        (delivery/hosted/updates.py `hosted_updates_left_requeue`)."""
        if destination.sftp_hosted:
            return True
        return own_server_updates_collect(destination) is not None

    def send(self, delivery) -> SendResult:
        result = self.send_batch([delivery])[delivery.pk]
        if isinstance(result, DeliveryFailed):
            raise result
        return result

    def send_batch(
        self, deliveries: list, *, stop_at=None
    ) -> dict[int, SendResult | DeliveryFailed]:
        # `stop_at` is not used: an SFTP run's lease is sized for all its rows (sftp_run).
        results: dict[int, SendResult | DeliveryFailed] = {}
        if not deliveries:
            return results
        orders = _orders_by_delivery(deliveries)
        by_destination: dict[int | None, list] = defaultdict(list)
        for delivery in deliveries:
            by_destination[delivery.destination_id].append(delivery)
        for destination_id, group in by_destination.items():
            if destination_id is None:
                for delivery in group:
                    results[delivery.pk] = DeliveryFailed(
                        "The SFTP destination was removed.", retryable=False
                    )
                continue
            results.update(self._send_to_destination(group[0].destination, group, orders))
        return results

    def _send_to_destination(
        self, destination, deliveries: list, orders: dict[int, Order]
    ) -> dict[int, SendResult | DeliveryFailed]:
        results: dict[int, SendResult | DeliveryFailed] = {}
        work = []
        for delivery in deliveries:
            order = orders.get(delivery.pk)
            if order is None:
                results[delivery.pk] = DeliveryFailed(
                    "This delivery has no order to write.", retryable=False
                )
            else:
                work.append((delivery, order))
        # Each order's file, kept from its first try; an order the format cannot hold fails
        # alone, with the reason. So does a kept name that would be hidden or a path (formats
        # no longer make one, but a file kept before they stopped keeps its name): refused
        # here, on either kind of server, it can neither hide on the supplier's own server
        # nor stop the hosted storage's writes for the files after it. Its name never
        # changes, so no later try would do better.
        kept = delivery_files(work, format_name=destination.sftp_format, destination=destination)
        _identities_follow_file_names(work, kept)
        files_by_pk = {}
        for delivery, _ in work:
            made = kept[delivery.pk]
            if isinstance(made, Exception):
                results[delivery.pk] = DeliveryFailed(str(made), retryable=False)
            elif refusal := file_name_refusal(made.file_name):
                results[delivery.pk] = DeliveryFailed(f"Not sent: {refusal}.", retryable=False)
            else:
                files_by_pk[delivery.pk] = (made.file_name, file_bytes(made))
        work = [(d, o) for d, o in work if d.pk in files_by_pk]
        if not work:
            return results
        if destination.sftp_hosted:
            return results | self._write_hosted(destination, work, files_by_pk)
        started = time.monotonic()
        uploaded = 0
        never_tried = "Not sent: the connection was lost before this file."
        try:
            target = sftp_target_for(destination)
            # Never past the run's lease: the next run may take these rows then.
            seconds = self.lease_seconds(rows=len(work))
            with sftp_session(target, seconds=seconds) as session:
                session.prepare_directory()
                step = upload.PIPELINE_FILES
                for start in range(0, len(work), step):
                    window = work[start : start + step]
                    files = [files_by_pk[d.pk] for d, _ in window]
                    outcomes = session.put_many(files)
                    for (delivery, _), (_, data), outcome in zip(window, files, outcomes):
                        if isinstance(outcome, SftpError):
                            results[delivery.pk] = DeliveryFailed(
                                outcome.message, retryable=outcome.retryable
                            )
                        else:
                            uploaded += 1
                            results[delivery.pk] = SendResult(
                                response_excerpt=f"uploaded {outcome} ({len(data)} bytes)"
                            )
                    if not session.connected():
                        if session.expired:
                            never_tried = session.time_up_error("before this file").message
                        break
        except SftpError as exc:
            for delivery, _ in work:
                results.setdefault(
                    delivery.pk, DeliveryFailed(exc.message, retryable=exc.retryable)
                )
        # Deliveries after a lost connection (or the run's time) were never tried: the next
        # run sends them.
        for delivery, _ in work:
            results.setdefault(delivery.pk, DeliveryFailed(never_tried))
        logger.info(
            "sftp %s: %d of %d files uploaded in %.2fs",
            destination,
            uploaded,
            len(work),
            time.monotonic() - started,
        )
        return results

    def _write_hosted(
        self, destination, work: list, files_by_pk: dict[int, tuple[str, bytes]]
    ) -> dict[int, SendResult | DeliveryFailed]:
        """Write each order file into the hosted storage: ROOT/<slug>/orders/<name>.

        Each file is answered on its own: a name the storage refuses (NotAFileName, a
        ValueError) fails only its delivery; an exception escaping here would fail the
        whole run, the files already written included, and again at every retry.
        """
        results: dict[int, SendResult | DeliveryFailed] = {}
        try:
            orders_dir = supplier_folder(destination.supplier.slug) / "orders"
        except OSError as exc:
            message = f"The hosted storage cannot be written: {exc.strerror}"
            return {d.pk: DeliveryFailed(message) for d, _ in work}
        for delivery, _order in work:
            name, data = files_by_pk[delivery.pk]
            try:
                file_write_atomic(orders_dir, name, data)
            except NotAFileName as exc:
                results[delivery.pk] = DeliveryFailed(f"Not written: {exc}.", retryable=False)
            except OSError as exc:
                results[delivery.pk] = DeliveryFailed(
                    f"Could not write orders/{name} to the hosted storage: {exc.strerror}"
                )
            else:
                results[delivery.pk] = SendResult(
                    response_excerpt=f"written orders/{name} ({len(data)} bytes)"
                )
        return results
