"""The benchmarks' production servers get collected static files, as a release has.

With DEBUG false and nothing collected, /healthz answers 503 naming collectstatic (README,
Health), which the benches' readiness probes then logged as errors. Collected once per bench
run into a temporary folder (a few seconds), the servers started with STATIC_ROOT there.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


_collected: list[str] = []


def static_root_collected(env: dict) -> str:
    """A folder `manage.py collectstatic` filled under the first server's environment
    (DEBUG false, its keys); the same one for every server of the run."""
    if not _collected:
        root = tempfile.mkdtemp(prefix="bench-static-")
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env={**env, "STATIC_ROOT": root},
            check=True,
        )
        _collected.append(root)
    return _collected[0]
