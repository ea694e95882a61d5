"""The chaos soak, short (bench/chaos.py at CI length): every fault kind once, then the checks.

The soak runs as its own process with servers of its own (a throwaway PostgreSQL cluster,
redis-server, gunicorn, two workers, the dispatcher, beat, SMTP, the test sshd, serve_sftp,
a webhook receiver), so it needs none of the test database; it exits non-zero when a check
fails and writes its summary as JSON, which this test reads as a user of the report would.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.chaos.faults import KINDS
from testsupport.executables import require_executable
from testsupport.postgres import postgres_bin

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_orders_keep_flowing_while_every_part_fails_in_turn(tmp_path):
    require_executable(["redis-server"], "redis-server")
    require_executable(["/usr/sbin/sshd", "sshd"], "openssh-server")
    require_executable(["sftp", "/usr/bin/sftp"], "openssh-client")
    if postgres_bin() is None:
        require_executable(["initdb"], "postgresql")
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "bench/chaos.py",
            "--duration", "10",
            "--every-fault",
            "--seed", "17",
            "--rate", "2",
            "--min-fault", "1",
            "--max-fault", "3",
            "--gap", "1",
            "--catch-up-wait", "4",
            "--settle", "200",
            "--json", str(summary_path),
            # The SFTP drops' minute as 10 s (the beat looking every 5 s, a failed run retried
            # after 5 s then 10 s): the one-minute drops run as the 10-minute soak's do, only
            # six times faster, so the settle does not wait a minute for the last run.
            "--env", "SFTP_INTERVAL_MINUTE_SECONDS=10",
            "--env", "SFTP_RUN_CHECK_SECONDS=5",
            "--env", "SFTP_RUN_RETRY_SECONDS=5,10",
            # Own servers' update files settle for 10 s, not a minute, in the same way.
            "--env", "SFTP_UPDATE_SETTLE_SECONDS=10",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=580,
    )  # fmt: skip
    assert summary_path.exists(), result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads(summary_path.read_text())
    assert summary["failures"] == [], result.stdout[-6000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    assert {fault["kind"] for fault in summary["faults"]} == set(KINDS)
    assert all(fault["catch_up"] is not None for fault in summary["faults"])
    figures = summary["figures"]
    assert figures["orders"] > 0 and figures["orders_lost"] == 0
    assert figures["cancellations"] == figures["cancellation_emails"] > 0
    assert figures["update_files"] > 0 and figures["api_updates"] > 0
    for channel in ("email", "webhook", "sftp"):
        row = summary["channels"][channel]
        # Each identity arrived (duplicates are extra arrivals of identities already seen).
        assert row["identities"] == row["rows"] > 0
        assert row["received"] == row["rows"] + row["duplicates"]
