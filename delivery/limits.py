"""How often a supplier may open a connection from the settings page.

"Fetch fingerprint" and "Test connection" each connect to a host the supplier names; without a
limit, a loop of them is a port scanner and holds web workers. "Send a test event" posts to
the webhook's URL and may hold a web worker for the webhook timeout: limited the same way
(found in review: it had no limit). Counted per supplier in a
window of one minute in the shared cache (common/ratelimit.py, the counter every limit uses).
"""

from __future__ import annotations

from django.conf import settings

from common.ratelimit import window_count

WINDOW_SECONDS = 60


def sftp_probe_wait(*, supplier_id: int) -> float | None:
    """Count one fetch or test; None when allowed, else the seconds until the next is."""
    count, remaining = window_count(f"sftp-probe:{supplier_id}", WINDOW_SECONDS)
    if count <= settings.SFTP_PROBES_PER_MINUTE:
        return None
    return max(1.0, remaining)


def webhook_test_wait(*, supplier_id: int) -> float | None:
    """Count one "Send a test event"; None when allowed, else the seconds until the next is."""
    count, remaining = window_count(f"webhook-test:{supplier_id}", WINDOW_SECONDS)
    if count <= settings.WEBHOOK_TESTS_PER_MINUTE:
        return None
    return max(1.0, remaining)
