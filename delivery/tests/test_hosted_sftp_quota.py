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


# OpenSSH's sftp never opens a file for append nor sets a file's size, but any SSH library
# can: these two use paramiko (a real client, over a real connection to the real server),
# sending the requests a hostile client would.


def _raw_write(sftp, handle: bytes, offset: int, data: bytes) -> None:
    from paramiko.sftp import CMD_WRITE, int64

    sftp._request(CMD_WRITE, handle, int64(offset), data)


def test_writes_to_a_file_opened_for_append_count_against_the_quota(
    hosted_sftp, tmp_path, settings
):
    """A file opened with FXF_APPEND takes every write at its end, whatever offset the client
    names: counted from the offset, writes at 0 grew the file without limit (found in review)."""
    from paramiko.sftp import (
        CMD_HANDLE,
        CMD_OPEN,
        SFTP_FLAG_APPEND,
        SFTP_FLAG_CREATE,
        SFTP_FLAG_WRITE,
    )
    from paramiko.sftp_attr import SFTPAttributes

    from testsupport.hosted_sftp import paramiko_client

    settings.HOSTED_SFTP_QUOTA_MB = 1
    supplier_with_key("acme", tmp_path)
    client = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "acme_key")
    sftp = client.open_sftp()
    flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_APPEND
    kind, message = sftp._request(CMD_OPEN, "/orders/grow.bin", flags, SFTPAttributes())
    assert kind == CMD_HANDLE
    handle = message.get_binary()
    chunk = b"x" * 32768
    refused = None
    for _ in range(2 * MB // len(chunk)):  # twice the quota, each write "at offset 0"
        try:
            _raw_write(sftp, handle, 0, chunk)
        except OSError as exc:
            refused = exc
            break
    client.close()
    assert refused is not None, "2 MB were appended to a folder whose quota is 1 MB"
    path = supplier_folder("acme") / "orders" / "grow.bin"
    wait_until(lambda: not path.exists(), timeout=10)  # cut short: removed on close


def test_a_file_cannot_be_grown_past_the_quota_by_setting_its_size(hosted_sftp, tmp_path, settings):
    """Setting a size (truncate) past the quota is refused and the file keeps its size: a
    sparse 2 GB file took no quota, and writes into its hole then filled the disk uncounted
    (found in review). Shrinking a file is still allowed."""
    from testsupport.hosted_sftp import paramiko_client

    settings.HOSTED_SFTP_QUOTA_MB = 1
    supplier_with_key("acme", tmp_path)
    client = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "acme_key")
    sftp = client.open_sftp()
    with sftp.open("/orders/hole.bin", "wb") as out:
        out.write(b"y" * 1000)
    with pytest.raises(OSError):
        sftp.truncate("/orders/hole.bin", 2 * 1024 * MB)
    with sftp.open("/orders/hole.bin", "r+b") as out, pytest.raises(OSError):
        out.truncate(2 * 1024 * MB)
    path = supplier_folder("acme") / "orders" / "hole.bin"
    assert path.stat().st_size == 1000
    sftp.truncate("/orders/hole.bin", 10)
    assert path.stat().st_size == 10
    # Within the quota, a size may still grow (a client preallocating its upload).
    sftp.truncate("/orders/hole.bin", 4000)
    assert path.stat().st_size == 4000
    client.close()


def test_uploading_a_file_again_over_itself_fits_the_quota(hosted_sftp, tmp_path, settings):
    """Putting a file again under its name truncates the old one first (or a rename replaces
    it): what it held is freed, and the folder holds one copy. Before, the old copy stayed
    counted until the next count, a minute on, so a supplier with 0.4 MB of its 1 MB quota in
    one file was told its storage was full the third time it put that file (found in
    review)."""
    settings.HOSTED_SFTP_QUOTA_MB = 1
    supplier_with_key("acme", tmp_path)
    size = 4 * MB // 10
    (tmp_path / "big.bin").write_bytes(b"z" * size)
    kwargs = dict(user="acme", key=tmp_path / "acme_key", workdir=tmp_path)
    result = openssh_sftp(hosted_sftp, batch="put big.bin orders/big.bin\n" * 3, **kwargs)
    assert result.returncode == 0, result.stderr
    # A rename over it frees the copy it replaces too.
    again = "put big.bin orders/other.bin\nrename orders/other.bin orders/big.bin\n"
    result = openssh_sftp(hosted_sftp, batch=again * 3, **kwargs)
    assert result.returncode == 0, result.stderr
    orders = supplier_folder("acme") / "orders"
    assert sorted(p.name for p in orders.iterdir()) == ["big.bin"]
    assert (orders / "big.bin").stat().st_size == size
    # And the quota still binds: two copies under two names do not fit with a third.
    result = openssh_sftp(
        hosted_sftp, batch="put big.bin orders/b.bin\nput big.bin orders/c.bin\n", **kwargs
    )
    assert result.returncode != 0 and not (orders / "c.bin").exists()


def test_a_folder_holds_at_most_so_many_files_and_folders(hosted_sftp, tmp_path, settings):
    """Files of no size took no quota: a client could make them without end, each an inode of
    the disk every supplier shares. HOSTED_SFTP_MAX_FILES bounds files and folders together
    (the five folders the server makes count); past it a new one is refused before anything is
    made, a file put again over itself is not new, and removing one makes room."""
    settings.HOSTED_SFTP_MAX_FILES = 8
    supplier_with_key("acme", tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    kwargs = dict(user="acme", key=tmp_path / "acme_key", workdir=tmp_path)
    updates = supplier_folder("acme") / "updates"

    def sftp(batch: str):
        return openssh_sftp(hosted_sftp, batch=batch, **kwargs)

    result = sftp("".join(f"put empty.txt updates/e{i}.txt\n" for i in (1, 2, 3)))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in updates.glob("e*.txt")) == ["e1.txt", "e2.txt", "e3.txt"]

    result = sftp("put empty.txt updates/e4.txt\n")
    assert result.returncode != 0
    assert not (updates / "e4.txt").exists()
    result = sftp("mkdir updates/more\n")
    assert result.returncode != 0
    assert not (updates / "more").exists()

    result = sftp("put empty.txt updates/e3.txt\n")  # over itself: not one more
    assert result.returncode == 0, result.stderr

    result = sftp("rm updates/e1.txt\nput empty.txt updates/e4.txt\n")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in updates.glob("e*.txt")) == ["e2.txt", "e3.txt", "e4.txt"]

    result = sftp("rm updates/e2.txt\nmkdir updates/more\nrmdir updates/more\nmkdir updates/d2\n")
    assert result.returncode == 0, result.stderr
    assert (updates / "d2").is_dir() and not (updates / "more").exists()
