"""A supplier's hosted folder holds at most HOSTED_SFTP_QUOTA_MB (delivery/hosted/quota.py).

The server runs in a thread of the test process over a temporary storage
(testsupport/hosted_sftp.py); the client is OpenSSH's sftp. Past the quota the upload is
refused, the part written is deleted and never applied, and other suppliers go on.
"""

from __future__ import annotations

import os

import pytest

from delivery.hosted.credentials import hosted_key_add
from delivery.hosted.storage import supplier_folder
from testsupport.factories import make_supplier
from testsupport.hosted_sftp import (  # noqa: F401
    hosted_sftp_fixture,
    keygen,
    login_throttle_fresh,  # noqa: F401  (autouse)
    openssh_sftp,
)
from testsupport.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


def supplier_with_key(slug, tmp_path):
    supplier = make_supplier(slug=slug)
    hosted_key_add(supplier=supplier, public_key=keygen(tmp_path / f"{slug}_key"))
    return supplier


def csv_of(path, size: int) -> None:
    row = b"PO-1,ship,SKU-1,1\n"
    with open(path, "wb") as out:
        out.write(b"order_number,action,sku,quantity\n")
        out.write(row * (size // len(row)))


def test_an_upload_past_the_quota_is_refused_removed_and_never_applied(
    hosted_sftp, tmp_path, settings, caplog
):
    settings.HOSTED_SFTP_QUOTA_MB = 1
    supplier_with_key("acme", tmp_path)
    supplier_with_key("bolt", tmp_path)
    (supplier_folder("acme") / "orders" / "PO-10001.csv").write_bytes(b"x" * (MB // 2))
    csv_of(tmp_path / "big.csv", MB)
    csv_of(tmp_path / "small.csv", 1000)

    result = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="put big.csv updates/big.csv\n",
    )
    assert result.returncode != 0
    assert "failure" in result.stderr.lower() or "quota" in result.stderr.lower()
    updates = supplier_folder("acme") / "updates"
    wait_until(lambda: not (updates / "big.csv").exists(), timeout=10)
    assert "over its quota" in caplog.text and "cut short by its quota" in caplog.text
    assert ("acme", "big.csv") not in hosted_sftp.closed_uploads
    assert not any(name.endswith("big.csv") for name in os.listdir(updates / "processed"))

    # Another supplier is not held by acme's quota.
    result = openssh_sftp(
        hosted_sftp,
        user="bolt",
        key=tmp_path / "bolt_key",
        workdir=tmp_path,
        batch="put big.csv updates/big.csv\n",
    )
    assert result.returncode != 0  # 1 MB of rows is over 1 MB for bolt too
    result = openssh_sftp(
        hosted_sftp,
        user="bolt",
        key=tmp_path / "bolt_key",
        workdir=tmp_path,
        batch="put small.csv updates/small.csv\n",
    )
    assert result.returncode == 0, result.stderr
    wait_until(lambda: ("bolt", "small.csv") in hosted_sftp.closed_uploads, timeout=10)


def test_removing_a_collected_file_makes_room_again(hosted_sftp, tmp_path, settings):
    settings.HOSTED_SFTP_QUOTA_MB = 1
    supplier_with_key("acme", tmp_path)
    (supplier_folder("acme") / "orders" / "PO-10001.csv").write_bytes(b"x" * (MB - 500))
    csv_of(tmp_path / "small.csv", 1000)
    batch = "put small.csv updates/small.csv\n"
    kwargs = dict(user="acme", key=tmp_path / "acme_key", workdir=tmp_path)

    result = openssh_sftp(hosted_sftp, batch=batch, **kwargs)
    assert result.returncode != 0
    assert not (supplier_folder("acme") / "updates" / "small.csv").exists()

    result = openssh_sftp(hosted_sftp, batch="rm orders/PO-10001.csv\n" + batch, **kwargs)
    assert result.returncode == 0, result.stderr
    wait_until(lambda: ("acme", "small.csv") in hosted_sftp.closed_uploads, timeout=10)
