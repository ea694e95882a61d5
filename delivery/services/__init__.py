"""Every write of the delivery app, by concern: destinations (and webhook_urls), sending, recovery,
reminders (the acknowledgement reminder), retailers (what a retailer hears back).

`from delivery.services import X` is the way in; the modules are how it is kept readable.
"""

from ..channels.webhook import WebhookTestResult, webhook_send_test
from ..dispatcher import events_dispatch
from ..recipients import supplier_notice_addresses
from .destinations import (
    SFTP_INTERVAL_MAX_MINUTES,
    SFTP_INTERVAL_RULE,
    destination_disable,
    destination_email_ensure,
    destination_set_email,
    destination_set_sftp,
    destination_set_webhook,
    event_types_clean,
    sftp_updates_path_clean,
    webhook_secret_rotate,
)
from .recovery import (
    RedeliverResult,
    SweepResult,
    deliveries_redeliver,
    deliveries_sweep,
    delivery_redeliver,
    sftp_run,
    sftp_runs_due,
)
from .reminders import acknowledge_reminders_send
from .retailers import (
    RETAILER_CHANNELS,
    retailer_event_types_clean,
    retailer_shipment_email_set,
    retailer_webhook_disable,
    retailer_webhook_set,
)
from .sending import (
    deliveries_process_batch,
    delivery_send,
    retry_delay_seconds,
)
from .webhook_urls import webhook_url_clean

__all__ = [
    "event_types_clean",
    "RETAILER_CHANNELS",
    "retailer_event_types_clean",
    "retailer_shipment_email_set",
    "retailer_webhook_disable",
    "retailer_webhook_set",
    "acknowledge_reminders_send",
    "RedeliverResult",
    "SweepResult",
    "WebhookTestResult",
    "deliveries_process_batch",
    "deliveries_redeliver",
    "deliveries_sweep",
    "delivery_redeliver",
    "delivery_send",
    "destination_disable",
    "destination_email_ensure",
    "destination_set_email",
    "destination_set_sftp",
    "destination_set_webhook",
    "events_dispatch",
    "retry_delay_seconds",
    "sftp_run",
    "sftp_runs_due",
    "supplier_notice_addresses",
    "webhook_secret_rotate",
    "webhook_send_test",
    "webhook_url_clean",
    "SFTP_INTERVAL_MAX_MINUTES",
    "SFTP_INTERVAL_RULE",
    "sftp_updates_path_clean",
]
