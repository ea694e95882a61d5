"""Production settings fail fast without real keys; check --deploy is clean; /healthz tells."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parents[2]
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDE="


def clean_env(tmp_path, **values) -> dict:
    """An environment with nothing from this shell: only what the test gives."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "orders_portal.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update({k: v for k, v in values.items() if v is not None})
    return env


def python(code: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def real_keys() -> dict:
    # Django's own generator; its keys may start with '$', which must not be read as a reference.
    return {
        "SECRET_KEY": get_random_secret_key(),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }


@pytest.mark.parametrize(
    "secret_key, field_key, named",
    [
        (None, "real", "SECRET_KEY"),
        ("", "real", "SECRET_KEY"),
        ("dev-insecure-secret-key-do-not-use-in-production-0123456789abcdef", "real", "SECRET_KEY"),
        ("too-short", "real", "SECRET_KEY"),
        ("real", None, "FIELD_ENCRYPTION_KEY"),
        ("real", "", "FIELD_ENCRYPTION_KEY"),
        ("real", DEV_FIELD_KEY, "FIELD_ENCRYPTION_KEY"),
        ("real", "not-a-fernet-key", "FIELD_ENCRYPTION_KEY"),
        # Made-up keys of the right shape (the Dockerfile once held these two for its build).
        ("a" * 60, "real", "SECRET_KEY"),
        ("real", "A" * 43 + "=", "FIELD_ENCRYPTION_KEY"),
    ],
)
def test_production_refuses_to_start_without_real_keys(tmp_path, secret_key, field_key, named):
    keys = real_keys()
    env = clean_env(
        tmp_path,
        DEBUG="false",
        ALLOWED_HOSTS="orders.example.com",
        SECRET_KEY=keys["SECRET_KEY"] if secret_key == "real" else secret_key,
        FIELD_ENCRYPTION_KEY=keys["FIELD_ENCRYPTION_KEY"] if field_key == "real" else field_key,
    )
    result = python("import django; django.setup()", env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("allowed_hosts", [None, "", " , "])
def test_production_refuses_to_start_without_allowed_hosts(tmp_path, allowed_hosts):
    """Else it starts and answers every request 400."""
    env = clean_env(tmp_path, DEBUG="false", ALLOWED_HOSTS=allowed_hosts, **real_keys())
    result = python("import django; django.setup()", env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ALLOWED_HOSTS must")
    assert not (tmp_path / "var").exists()


def test_allowed_hosts_are_read_stripped(tmp_path):
    env = clean_env(
        tmp_path, DEBUG="false", ALLOWED_HOSTS="orders.example.com, api.example.com", **real_keys()
    )
    result = python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.ALLOWED_HOSTS)",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['orders.example.com', 'api.example.com']"


def test_a_secret_key_starting_with_a_dollar_is_taken_as_is(tmp_path):
    key = "$" + get_random_secret_key()
    env = clean_env(
        tmp_path,
        DEBUG="false",
        ALLOWED_HOSTS="orders.example.com",
        SECRET_KEY=key,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY)"
    )
    result = python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


def test_production_starts_with_real_keys(tmp_path):
    env = clean_env(tmp_path, DEBUG="false", ALLOWED_HOSTS="orders.example.com", **real_keys())
    result = python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS > 0)",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]


@pytest.mark.parametrize(
    "cache_url, engine",
    [
        (None, "django.contrib.sessions.backends.db"),
        ("locmemcache://", "django.contrib.sessions.backends.db"),
        ("redis://127.0.0.1:6379/0", "django.contrib.sessions.backends.cached_db"),
    ],
)
def test_sessions_are_cached_only_in_a_cache_every_process_shares(tmp_path, cache_url, engine):
    hosts = "orders.example.com"  # production needs one
    keys = real_keys()
    env = clean_env(tmp_path, DEBUG="false", ALLOWED_HOSTS=hosts, CACHE_URL=cache_url, **keys)
    result = python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SESSION_ENGINE)",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == engine


def test_development_runs_without_keys(tmp_path):
    result = python("import django; django.setup()", clean_env(tmp_path, DEBUG="true"))
    assert result.returncode == 0, result.stderr


def test_embedded_email_lands_in_var_mail_whatever_the_working_directory(tmp_path):
    """With no EMAIL_URL, a sent message is a file under VAR_DIR/mail/, not under the cwd."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import django; django.setup(); "
            "from django.core.mail import send_mail; "
            "send_mail('PO-1 subject', 'body', 'orders@localhost', ['a@example.com'])",
            str(BASE_DIR),
        ],
        cwd=elsewhere,
        env=clean_env(tmp_path, DEBUG="true"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = list((tmp_path / "var" / "mail").glob("*.log"))
    assert len(written) == 1
    assert "PO-1 subject" in written[0].read_text()
    assert list(elsewhere.rglob("*.log")) == []


def test_check_deploy_is_clean_with_real_keys(tmp_path):
    env = clean_env(tmp_path, DEBUG="false", ALLOWED_HOSTS="orders.example.com", **real_keys())
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# --- /healthz ----------------------------------------------------------------------------


def test_healthz_200_when_database_and_broker_answer(db, client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HEALTHZ = (
    "import json, django; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz'); print(r.status_code); print(r.content.decode())"
)


def test_healthz_503_names_the_broker_when_it_is_unreachable(tmp_path):
    env = clean_env(
        tmp_path, DEBUG="true", CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0"
    )
    result = python(HEALTHZ, env)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503"
    assert '"broker": "error: OperationalError"' in body
    assert '"database": "ok"' in body


def test_healthz_503_names_the_database_when_it_is_unreachable(tmp_path):
    env = clean_env(
        tmp_path,
        DEBUG="true",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/nothing",
    )
    result = python(HEALTHZ, env)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503"
    assert '"database": "error: OperationalError"' in body
    assert '"broker": "ok"' in body


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory) -> str:
    """A STATIC_ROOT that `manage.py collectstatic` filled, as a release's (a few seconds)."""
    tmp = tmp_path_factory.mktemp("collected")
    root = tmp / "static"
    env = clean_env(
        tmp,
        DEBUG="false",
        ALLOWED_HOSTS="localhost",
        STATIC_ROOT=str(root),
        DATABASE_URL=f"sqlite:///{tmp / 'build.sqlite3'}",
        **real_keys(),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (root / "staticfiles.json").exists()
    return str(root)


def test_healthz_answers_a_probe_by_ip_that_allowed_hosts_does_not_list(tmp_path, collected_static):
    """The container's healthcheck and a load balancer ask http://127.0.0.1:8000/healthz;
    production's ALLOWED_HOSTS names the site only. Every other page still refuses that host."""
    env = clean_env(
        tmp_path,
        DEBUG="false",
        ALLOWED_HOSTS="orders.example.com",
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=collected_static,
        **real_keys(),
    )
    code = (
        "import django; django.setup(); from django.test import Client; "
        "c = Client(HTTP_HOST='127.0.0.1:8000'); "
        "print(c.get('/healthz').status_code, c.head('/healthz').status_code, "
        "c.get('/accounts/login/').status_code, c.post('/healthz').status_code)"
    )
    result = python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["200", "200", "400", "400"]
    # WhiteNoise's start asks for names that are no static file (a hashed file's name less
    # its hash): not versioned, said by ValueError, never an error in the log.
    assert "orders_portal.staticfiles" not in result.stderr, result.stderr[-2000:]


def test_healthz_is_exempt_from_the_https_redirect(tmp_path, collected_static):
    env = clean_env(
        tmp_path,
        DEBUG="false",
        ALLOWED_HOSTS="testserver",
        STATIC_ROOT=collected_static,
        **real_keys(),
    )
    code = (
        "import django; django.setup(); from django.test import Client; "
        "c = Client(); print(c.get('/healthz').status_code, c.get('/admin/login/').status_code)"
    )
    result = python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["200", "301"]


STATIC_STATE = """
import json, subprocess, sys, django; django.setup()
from django.test import Client
c = Client()

def state():
    health, page = c.get('/healthz'), c.get('/help/')
    html = page.content.decode()
    css = html.split('rel="stylesheet" href="')[1].split('"')[0]
    return [health.status_code, health.json(), page.status_code, css, c.get(css).status_code]

before = state()
if COLLECT:  # by another process, as a deployment runs it
    subprocess.run([sys.executable, 'manage.py', 'collectstatic', '--noinput'], check=True)
print(json.dumps([before, state()]))
"""


def test_without_collected_static_files_healthz_is_503_and_pages_still_render(tmp_path):
    """With DEBUG false and collectstatic never run, the pages used to answer 500 (the
    manifest storage raised) while /healthz said 200. Now /healthz names the static files
    and pages render, linking plain names. A collectstatic run while the process runs is
    served only once it restarts (WhiteNoise lists STATIC_ROOT's files at its start): till
    then /healthz still says so, where it said 200 over pages whose stylesheet was a 404."""
    static_root = tmp_path / "static"
    env = clean_env(
        tmp_path,
        DEBUG="false",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=str(static_root),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **real_keys(),
    )
    result = python("COLLECT = True\n" + STATIC_STATE, env, timeout=300)
    assert result.returncode == 0, result.stderr
    before, collected = json.loads(result.stdout.strip().splitlines()[-1])

    unavailable = {
        "status": "unavailable",
        "database": "ok",
        "broker": "ok",
        "static": "error: not collected at start (run manage.py collectstatic, then restart)",
    }
    assert before == [503, unavailable, 200, "/static/portal/portal.css", 404]
    assert "'portal/portal.css' is not in" in result.stderr
    assert "run manage.py collectstatic" in result.stderr
    # Collected since the start: nothing serves the files yet, and /healthz keeps saying so.
    assert collected == before

    restarted = python("COLLECT = False\n" + STATIC_STATE, env, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    status, health, page_status, css, css_status = json.loads(
        restarted.stdout.strip().splitlines()[-1]
    )[0]
    assert (status, health, page_status, css_status) == (
        200,
        {"status": "ok", "database": "ok", "broker": "ok", "static": "ok"},
        200,
        200,
    )
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert css == "/static/" + manifest["paths"]["portal/portal.css"]
    assert "orders_portal.staticfiles" not in restarted.stderr, restarted.stderr[-2000:]


STATIC_FIRST_REQUEST_LATE = """
import io, json, subprocess, sys
from orders_portal.wsgi import application  # the web process starts: nothing collected
subprocess.run([sys.executable, 'manage.py', 'collectstatic', '--noinput'], check=True)

def get(path):
    answer = {}
    environ = {
        'REQUEST_METHOD': 'GET', 'PATH_INFO': path, 'QUERY_STRING': '', 'SERVER_NAME': 'testserver',
        'SERVER_PORT': '80', 'HTTP_HOST': 'testserver', 'wsgi.url_scheme': 'http',
        'wsgi.input': io.BytesIO(), 'wsgi.errors': sys.stderr, 'wsgi.version': (1, 0),
        'wsgi.multithread': False, 'wsgi.multiprocess': False, 'wsgi.run_once': False,
    }
    body = b''.join(application(environ, lambda status, headers: answer.update(s=status)))
    return int(answer['s'].split()[0]), body.decode(errors='replace')

health, page = get('/healthz'), get('/help/')
css = page[1].split('rel="stylesheet" href="')[1].split('"')[0]
print(json.dumps([health[0], page[0], get(css)[0]]))
"""


def test_files_collected_after_the_start_but_before_the_first_request_are_not_taken_as_served(
    tmp_path,
):
    """The storage was made at its first use, the first request's: files collected between
    the process's start (when WhiteNoise lists them) and that request were linked by their
    hashed names, which nothing served, under a /healthz of 200."""
    env = clean_env(
        tmp_path,
        DEBUG="false",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **real_keys(),
    )
    result = python(STATIC_FIRST_REQUEST_LATE, env, timeout=300)
    assert result.returncode == 0, result.stderr
    health, page, css = json.loads(result.stdout.strip().splitlines()[-1])
    assert (health, page, css) == (503, 200, 404)


# --- Settings checks stop every process at start (common/checks.py) ------------------------


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_celery_refuses_to_start_with_a_bad_setting(tmp_path, command):
    """Celery ignores what system checks find; a worker or beat with a bad setting exits."""
    env = clean_env(tmp_path, DEBUG="true", DELIVERY_DISPATCH="celery")
    args = ["--pool", "solo"] if command == "worker" else ["-s", str(tmp_path / "beat")]
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "orders_portal", command, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DELIVERY_DISPATCH must be 'listener' or 'inline'. (delivery.E001)" in (
        result.stdout + result.stderr
    )


def test_manage_py_check_lists_every_bad_setting(tmp_path):
    env = clean_env(
        tmp_path,
        DEBUG="true",
        PROXY_COUNT="-1",
        PASSWORD_RESET_ADDRESS_RATE="5/week",
        SUPPLIER_API_RATE="fast",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    for message in (
        "(common.E001) PROXY_COUNT must be 0 or more.",
        "(suppliers.E001) PASSWORD_RESET_ADDRESS_RATE must be a rate such as '5/hour' or '3/day'.",
        "(orders.E003) SUPPLIER_API_RATE must be a rate such as '600/min' (got 'fast').",
    ):
        assert message in result.stderr


def test_orders_pages_get_their_delivery_readers_without_the_urls(tmp_path):
    """Registered by delivery's AppConfig.ready(): a process that never loads the URLs (a
    worker, a command) has them too."""
    code = (
        "import sys, django; django.setup(); from orders.views import delivery_readers as r; "
        "print(all((r.states_for_orders, r.for_order, r.failing_count)), "
        "'orders_portal.urls' in sys.modules)"
    )
    result = python(code, clean_env(tmp_path, DEBUG="true"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]


def test_the_urls_module_holds_only_url_patterns():
    import ast

    tree = ast.parse((BASE_DIR / "orders_portal" / "urls.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        assert isinstance(node, ast.Assign), ast.dump(node)[:80]
        # The patterns, and the error views Django reads from the same module.
        assert [t.id for t in node.targets] in (
            ["urlpatterns"],
            ["handler400"],
            ["handler404"],
            ["handler500"],
        )
