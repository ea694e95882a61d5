"""The copy-paste poller in docs/polling.md, run as written against a live server."""

import re
from pathlib import Path

import pytest
import requests
from django.core.cache import cache

from orders.services import order_set_status
from suppliers.services import api_token_create
from testsupport.factories import place_order

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "polling.md"


@pytest.fixture
def poller(monkeypatch, tmp_path, live_server, acme):
    _, token = api_token_create(supplier=acme, name="guide")
    monkeypatch.setenv("ORDERS_API_URL", live_server.url)
    monkeypatch.setenv("ORDERS_API_TOKEN", token)
    monkeypatch.setenv("ORDERS_STATE_FILE", str(tmp_path / "state.json"))
    (code,) = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    namespace = {"__name__": "guide_poller"}
    exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102 - our own document
    handled = []
    namespace["handle_order"] = lambda order, change: handled.append(
        (order["number"], order["status"], change)
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    cache.clear()
    return namespace, session, handled, tmp_path / "state.json"


# Django's threaded live server closes the shared in-memory SQLite connection from a request
# thread after each response and warns; the responses themselves are complete and correct.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_guides_poller_sees_each_new_order_once_and_each_change(
    settings, poller, retailer, acme, bolt
):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    guide, session, handled, state_file = poller
    first = [place_order(retailer=retailer)[0] for _ in range(3)]
    place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 1}])  # not acme's

    state = guide["poll_once"](session, guide["load_state"]())
    new = [(o.number, "placed", False) for o in first]
    assert handled == new + [(o.number, "placed", True) for o in first]
    assert guide["load_state"]() == state and state_file.exists()

    handled.clear()
    later = [place_order(retailer=retailer)[0] for _ in range(2)]
    order_set_status(order=first[1], status="cancelled", actor="ops", reason="other", note="x")
    state = guide["poll_once"](session, state)
    assert [h for h in handled if not h[2]] == [(o.number, "placed", False) for o in later]
    assert sorted(h for h in handled if h[2]) == sorted(
        [(first[1].number, "cancelled", True)] + [(o.number, "placed", True) for o in later]
    )

    handled.clear()
    guide["poll_once"](session, state)
    assert handled == []
