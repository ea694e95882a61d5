"""A cancellation by an update file on the supplier's own SFTP server emails the retailer, as
every cancellation does (no test had taken this path to the retailer's inbox)."""

from __future__ import annotations

import os

import pytest

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from delivery.services import destination_disable, sftp_run
from delivery.tests.test_sftp import place, sftp_destination
from orders.models import Order
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_a_cancel_row_on_the_suppliers_server_emails_the_retailer_on_the_run(
    acme, retailer, sftp_server, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    destination = sftp_destination(acme, sftp_server)  # updates directory: "updates"
    destination_disable(supplier=acme, channel="email")  # nothing turns the retailer's off
    updates = sftp_server.make_dir("updates")
    with django_capture_on_commit_callbacks(execute=True):
        [order] = place(
            retailer,
            reference="R-SFTP",
            lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 1}],
        )
    cancel = updates / "cancel.csv"
    cancel.write_text(
        "order_number,action,line,quantity,reason,note\n"
        f"{order.number},cancel,2,,out_of_stock,None left of the blue ones\n"
    )
    if os.geteuid() == 0:  # owned by the SFTP account, so the run can move it
        os.chown(cancel, sftp_server._uid, sftp_server._gid)

    with django_capture_on_commit_callbacks(execute=True):
        sftp_run(destination_id=destination.pk)

    assert "applied" in (updates / "results" / "cancel.csv.results.csv").read_text()
    assert Order.objects.get(pk=order.pk).lines.get(line_no=2).quantity_cancelled == 1
    mails = [m for m in email_via_smtp.wait_for(1) if m.rcpt_tos == ["buyers@shopco.example"]]
    (mail,) = mails
    assert order.number in mail.subject and "cancelled" in mail.subject
    text = mail.body("plain")
    assert "Out of stock" in text and "None left of the blue ones" in text and "ACME-002" in text
    (row,) = Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert row.status == DeliveryStatus.DELIVERED
