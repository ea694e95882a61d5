"""Where a delivery goes: resolved again at every try, so a corrected address is used.

A row's `recipient` is written when the row is made (the portal and the log show it at
once), and again at each try when its source changed since: a retry or a redelivery after
ops corrected a retailer's email, or after a supplier corrected its order emails, its webhook
URL or its SFTP server, goes where the address is now, and the row shows where its latest try
went. Before, the address stored at creation was used for good: a retailer's cancellation
email refused at an old address went to that address again after the fix (found in review).

An address that is empty now keeps the stored one: the retailer's cancellation email, which
nothing may suppress, is never dropped for want of an address.
"""

from __future__ import annotations

from orders.models import Retailer
from suppliers.models import Supplier

from .channels import channel_get
from .models import Channel, Delivery, DeliveryPurpose, Destination

RETAILER_EMAIL_PURPOSES = frozenset(
    {
        DeliveryPurpose.RETAILER_CANCELLATION,
        DeliveryPurpose.RETAILER_SHIPMENT,
        DeliveryPurpose.MONTHLY_SUMMARY,
    }
)
SUPPLIER_NOTICE_PURPOSES = frozenset(
    {DeliveryPurpose.FAILURE_NOTICE, DeliveryPurpose.ACKNOWLEDGE_REMINDER}
)


def supplier_notice_addresses(*, supplier: Supplier) -> str:
    """Where a supplier's notices go: its email channel's addresses, else its order emails."""
    email = Destination.objects.filter(supplier=supplier, channel=Channel.EMAIL).first()
    return (email.email_addresses if email and email.email_addresses else "") or (
        supplier.order_emails
    )


def _retailer_id(delivery: Delivery) -> int | None:
    """The retailer a retailer-facing email is for: its order's, or its target key's (a
    monthly summary has no order: `retailer:<id>`, or `retailer:<id>:resend:<n>` for a resend
    from the admin, which followed no corrected address before)."""
    if delivery.event_id is not None:
        return delivery.event.order.retailer_id
    kind, _, rest = (delivery.target_key or "").partition(":")
    pk = rest.partition(":")[0]
    return int(pk) if kind == "retailer" and pk.isdigit() else None


class _Resolver:
    """One batch's look-ups, each made once: a destination's address, a supplier's notice
    addresses, the retailers' emails (one query for the batch)."""

    def __init__(self, deliveries: list[Delivery]):
        self.by_destination: dict[int, str] = {}
        self.by_supplier: dict[int, str] = {}
        self.retailer_emails = self._retailer_emails(deliveries)

    @staticmethod
    def _retailer_emails(deliveries) -> dict[int, str]:
        emails, missing = {}, set()
        for delivery in deliveries:
            if delivery.channel != Channel.EMAIL or delivery.purpose not in RETAILER_EMAIL_PURPOSES:
                continue
            if delivery.event_id is not None:  # the claim loaded the order's retailer
                retailer = delivery.event.order.retailer
                emails[retailer.pk] = retailer.email
            elif (pk := _retailer_id(delivery)) is not None:
                missing.add(pk)
        if missing - emails.keys():
            emails.update(
                Retailer.objects.filter(pk__in=missing - emails.keys()).values_list("pk", "email")
            )
        return emails

    def current(self, delivery: Delivery) -> str:
        if delivery.channel == Channel.EMAIL and delivery.purpose in RETAILER_EMAIL_PURPOSES:
            return self.retailer_emails.get(_retailer_id(delivery), "")
        if delivery.channel == Channel.EMAIL and delivery.purpose in SUPPLIER_NOTICE_PURPOSES:
            if delivery.supplier_id is None:
                return ""
            if delivery.supplier_id not in self.by_supplier:
                self.by_supplier[delivery.supplier_id] = supplier_notice_addresses(
                    supplier=delivery.supplier
                )
            return self.by_supplier[delivery.supplier_id]
        destination = delivery.destination
        if destination is None or delivery.event_id is None:
            return ""
        if destination.pk not in self.by_destination:
            order = delivery.event.order
            if destination.supplier_id is not None and destination.supplier_id == order.supplier_id:
                destination.supplier = order.supplier  # loaded by the claim: no query
            self.by_destination[destination.pk] = channel_get(delivery.channel).recipient(
                destination=destination, order=order
            )
        return self.by_destination[destination.pk]


def recipients_refresh(deliveries: list[Delivery]) -> list[Delivery]:
    """Set each row's `recipient` to where it goes now; write the changed ones (one query).

    Returns the rows that changed."""
    if not deliveries:
        return []
    resolver = _Resolver(deliveries)
    changed = []
    for delivery in deliveries:
        now = (resolver.current(delivery) or "").strip()
        if now and now != delivery.recipient:
            delivery.recipient = now
            changed.append(delivery)
    if changed:
        Delivery.objects.bulk_update(changed, ["recipient"])
    return changed
