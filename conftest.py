"""Shared fixtures. Data is made through services, as the app makes it."""

import pytest

from testsupport.executables import REQUIRE_ALL_TESTS


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL_TESTS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under REQUIRE_ALL_TESTS: {reason}"


def pytest_collection_modifyitems(items):
    # A test asking for `on_postgres` is a PostgreSQL test: `-m "not postgres"` leaves it out
    # (make test's SQLite pass).
    for item in items:
        if "on_postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def dispatch_inline(settings):
    """Events are dispatched by the process that commits them, so a test sees its deliveries
    without running `dispatch_events`; delivery/tests/test_listener.py tests that mode."""
    settings.DELIVERY_DISPATCH = "inline"


@pytest.fixture(autouse=True)
def login_address_limit_off(settings):
    """The per-address login limit (suppliers/login_limit.py) counts in the shared cache, which
    a run keeps for all its tests: every test's failed logins from 127.0.0.1 added up, and a
    late test's login would be refused. suppliers/tests/test_login_address_limit.py sets it."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 10**9


@pytest.fixture(autouse=True)
def catalogue_forgotten():
    """Each test starts with no remembered catalogue rows (suppliers/catalogue_memory.py): a
    row remembered by an earlier test names a product that test's rollback removed."""
    from suppliers import catalogue_memory

    catalogue_memory.forget_all()
    yield
    catalogue_memory.forget_all()


@pytest.fixture
def on_postgres(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        if REQUIRE_ALL_TESTS:
            pytest.fail("this test needs PostgreSQL; set DATABASE_URL", pytrace=False)
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


@pytest.fixture
def acme(db):
    from testsupport.factories import make_products, make_supplier

    supplier = make_supplier(slug="acme", name="Acme Home Goods", emails="orders@acme.example")
    make_products(
        supplier=supplier, skus={"ACME-001": "9.50", "ACME-002": "7.25", "ACME-003": "24.00"}
    )
    return supplier


@pytest.fixture
def ann(acme):
    """A user of acme's, with the factories' password."""
    from testsupport.factories import make_supplier_user

    return make_supplier_user(supplier=acme, username="ann")


@pytest.fixture
def ann_client(client, ann):
    """The test client, logged in as ann."""
    client.force_login(ann)
    return client


@pytest.fixture
def bolt(db):
    from testsupport.factories import make_products, make_supplier

    supplier = make_supplier(slug="bolt", name="Bolt Hardware", emails="po@bolt.example")
    make_products(supplier=supplier, skus={"BOLT-7": "5.80", "BOLT-9": "3.10"})
    return supplier


@pytest.fixture
def retailer_and_key(db):
    from testsupport.factories import make_retailer

    return make_retailer(slug="shopco", rate="0.10", email="buyers@shopco.example")


@pytest.fixture
def retailer(retailer_and_key):
    return retailer_and_key[0]


@pytest.fixture
def retailer_client(retailer_and_key):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {retailer_and_key[1]}")
    return client


# --- Real servers for delivery tests (testsupport/smtp.py, testsupport/http.py) ---------


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; `.messages` holds what it received."""
    from testsupport.smtp import SMTPServer

    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_receiver():
    """A real threaded HTTP server on 127.0.0.1; `.script(...)` its answers, `.requests`."""
    from testsupport.http import HTTPReceiver

    receiver = HTTPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def redis_as_the_cache():
    """A redis-server of its own as the project's shared cache (then back); `.stop()` it to
    see what happens while Redis is down."""
    from django.test import override_settings

    from testsupport.executables import require_executable
    from testsupport.processes import RedisServer

    require_executable(["redis-server"], "redis-server")
    server = RedisServer().start()
    own = {"default": {"BACKEND": "orders_portal.cache.RedisCache", "LOCATION": server.url(0)}}
    try:
        with override_settings(CACHES=own):  # left before the server goes
            yield server
    finally:
        server.cleanup()


@pytest.fixture
def email_via_smtp(settings, smtp_server):
    """Point Django's email at the `smtp_server` fixture."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server


@pytest.fixture
def tasks_inline(settings):
    """Run delivery tasks in the calling process (Celery eager); retries wait for the sweeper."""
    from delivery.queue import broker_backoff_reset

    settings.CELERY_TASK_ALWAYS_EAGER = True
    broker_backoff_reset()
    return settings


def pytest_sessionfinish(session, exitstatus):
    """Under REQUIRE_ALL_TESTS, a module skipped at collection or a run of no test fails."""
    if not REQUIRE_ALL_TESTS:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line(
                f"REQUIRE_ALL_TESTS: {len(skipped)} skipped item(s) count as failures", red=True
            )
    if session.testscollected == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.write_line("REQUIRE_ALL_TESTS: no test was collected", red=True)
