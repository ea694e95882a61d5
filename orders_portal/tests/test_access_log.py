"""The image's web start command (scripts/docker-entrypoint web) for real, on SQLite under a
temporary VAR_DIR: a password-reset link opened through it leaves no token in the access log."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from testsupport.processes import group_stop
from testsupport.waiting import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(240)

RESET_LINK = (
    "import django; django.setup(); "
    "from django.contrib.auth.models import User; "
    "from django.contrib.auth.tokens import default_token_generator as tokens; "
    "from django.utils.encoding import force_bytes; "
    "from django.utils.http import urlsafe_base64_encode; "
    "u = User.objects.create_user('reset-me', 'reset@example.com', 'old-password-2026'); "
    "print(urlsafe_base64_encode(force_bytes(u.pk)), tokens.make_token(u))"
)


def _env(tmp_path, port: int) -> dict[str, str]:
    dropped = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "ALLOWED_HOSTS")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return env | {
        "DEBUG": "true",
        "PORT": str(port),
        "VAR_DIR": str(tmp_path / "var"),
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        "PYTHONUNBUFFERED": "1",
    }


def test_the_web_command_logs_a_reset_link_without_its_token(tmp_path):
    port = free_port()
    env = _env(tmp_path, port)
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 180}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **run)
    assert migrated.returncode == 0, migrated.stderr
    made = subprocess.run([sys.executable, "-c", RESET_LINK], **run)
    assert made.returncode == 0, made.stderr
    uid, token = made.stdout.split()

    log_path = tmp_path / "web.log"
    with open(log_path, "w") as log:
        web = subprocess.Popen(
            [str(ROOT / "scripts" / "docker-entrypoint"), "web", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: web.poll() is not None or "Booting worker" in log_path.read_text(),
            timeout=60,
            interval=0.1,
        )
        assert web.poll() is None, log_path.read_text()[-3000:]
        # The emailed link, opened by a browser (cookies kept): it redirects to the
        # set-password form, which the user sees.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(f"{base}/accounts/reset/{uid}/{token}/", timeout=20) as r:
            assert r.status == 200
            assert r.url == f"{base}/accounts/reset/{uid}/set-password/"
            assert b"new_password1" in r.read()
        wait_until(lambda: "set-password/" in log_path.read_text(), timeout=20, interval=0.1)
        logged = log_path.read_text()
        assert f'"GET /accounts/reset/{uid}/[token]/ HTTP/1.1" 302' in logged
        assert token not in logged
    finally:
        group_stop(web)
