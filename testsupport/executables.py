"""Find the real programs tests drive (sshd, Chromium, redis-server), or skip (fail under CI).

In CI (`REQUIRE_ALL_TESTS=1`) every test must run: a test that would skip for a missing server
package fails instead, naming the Debian package to install.
"""

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_ALL_TESTS = os.environ.get("REQUIRE_ALL_TESTS", "").lower() in ("1", "true", "yes")


def require_executable(candidates: list[str], debian_package: str) -> str:
    """Return the first executable found, else skip naming the package (fail under CI)."""
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found and os.access(found, os.X_OK):
            return found
    message = f"needs {candidates[0]} (Debian package '{debian_package}')"
    if REQUIRE_ALL_TESTS:
        pytest.fail(f"{message}; REQUIRE_ALL_TESTS forbids skipping", pytrace=False)
    pytest.skip(message)


# Debian's Chromium, headless, as root, on a machine without internet.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_executable() -> str:
    return require_executable(["/usr/bin/chromium", "chromium"], "chromium")
