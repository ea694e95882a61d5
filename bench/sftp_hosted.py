"""bench/sftp.py's hosted part: our serve_sftp against OpenSSH's sftp-server, same run.

1. Download: the same N order files, in one folder, fetched with OpenSSH `sftp -b` (one `get`
   each, one connection) from serve_sftp (chrooted to ROOT/<slug>, key login) and from the
   test sshd's internal-sftp pointed at that same folder. Goal: ours >= 0.5 of OpenSSH's rate.
2. Update file: a 10,000-row update file (testsupport/updates.py workload) uploaded with
   `sftp` to updates/; timed from the upload's close (the server's hook) to the result file
   written. The apply runs in the server's executor thread here; in production the hook
   queues the same function as a Celery task.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from django.conf import settings


def _sftp_b(sftp: str, *, port: int, user: str, key: Path, known_hosts: Path, batch: Path):
    subprocess.run(
        [
            sftp,
            "-b",
            str(batch),
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            f"IdentityFile={key}",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-P",
            str(port),
            f"{user}@127.0.0.1",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def hosted_section(*, server, sftp: str, rendered: Path, n: int, update_orders: int) -> None:
    """`server`: the running test sshd; `rendered`: a folder of N rendered order files."""
    from delivery.hosted.credentials import hosted_key_add
    from delivery.hosted.storage import supplier_folder
    from delivery.hosted.updates import hosted_update_apply
    from testsupport.factories import make_retailer, make_supplier
    from testsupport.hosted_sftp import HostedSftpTestServer
    from testsupport.updates import workload_file, workload_orders

    base = Path(server.base) / "hosted"
    settings.HOSTED_SFTP_ROOT = str(base / "storage")
    settings.HOSTED_SFTP_HOST_KEY_FILE = str(base / "host_key")
    tag = rendered.name[-6:].replace("-", "x").lower()
    supplier = make_supplier(slug=f"hosted-{tag}")
    hosted_key_add(supplier=supplier, public_key=Path(f"{server.private_key_path}.pub").read_text())
    orders_dir = supplier_folder(supplier.slug) / "orders"
    names = sorted(p.name for p in rendered.iterdir() if p.suffix == ".csv")[:n]
    for name in names:
        shutil.copyfile(rendered / name, orders_dir / name)
    # The sshd account (nobody when we are root) must read the same folder.
    for path in [base, *base.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    closed_at: dict[str, float] = {}

    def on_closed(slug: str, name: str) -> None:
        closed_at[name] = time.perf_counter()
        hosted_update_apply(slug=slug, name=name)

    hosted = HostedSftpTestServer(on_upload_closed=on_closed).start()
    try:
        work = base / "work"
        work.mkdir()
        known = hosted.known_hosts(work)
        ours_out, theirs_out = work / "ours", work / "theirs"
        ours_out.mkdir()
        theirs_out.mkdir()
        ours_batch = work / "ours.txt"
        ours_batch.write_text("".join(f'get "orders/{n_}" "{ours_out / n_}"\n' for n_ in names))
        theirs_batch = work / "theirs.txt"
        theirs_batch.write_text(
            "".join(f'get "{orders_dir / n_}" "{theirs_out / n_}"\n' for n_ in names)
        )
        sshd_known = work / "sshd_known_hosts"
        sshd_known.write_text(server.known_hosts_line + "\n")

        started = time.perf_counter()
        _sftp_b(
            sftp,
            port=server.port,
            user=server.username,
            key=server.private_key_path,
            known_hosts=sshd_known,
            batch=theirs_batch,
        )
        theirs_seconds = time.perf_counter() - started
        started = time.perf_counter()
        _sftp_b(
            sftp,
            port=hosted.port,
            user=supplier.slug,
            key=server.private_key_path,
            known_hosts=known,
            batch=ours_batch,
        )
        ours_seconds = time.perf_counter() - started
        assert sorted(p.name for p in ours_out.iterdir()) == names
        for name in names[:: max(1, len(names) // 50)]:
            assert (ours_out / name).read_bytes() == (orders_dir / name).read_bytes(), name
        ours_rate, theirs_rate = len(names) / ours_seconds, len(names) / theirs_seconds
        print(f"hosted download: {len(names)} order files with sftp -b")
        print(f"  OpenSSH sftp-server: {theirs_seconds:.2f}s  {theirs_rate:,.0f} files/s")
        print(f"  serve_sftp:          {ours_seconds:.2f}s  {ours_rate:,.0f} files/s")
        print(f"  ratio ours/OpenSSH: {ours_rate / theirs_rate:.2f} (goal >= 0.5)")

        retailer, _ = make_retailer(slug=f"hostedshop-{tag}")
        started = time.perf_counter()
        orders = workload_orders(supplier=supplier, retailer=retailer, count=update_orders)
        content = workload_file([o.number for o in orders])
        print(
            f"update file: {update_orders * 10:,} rows ({len(content):,} bytes); "
            f"setup {time.perf_counter() - started:.1f}s"
        )
        local = work / "bulk.csv"
        local.write_bytes(content)
        put = work / "put.txt"
        put.write_text(f'put "{local}" "updates/bulk.csv"\n')
        _sftp_b(
            sftp,
            port=hosted.port,
            user=supplier.slug,
            key=server.private_key_path,
            known_hosts=known,
            batch=put,
        )
        result = supplier_folder(supplier.slug) / "updates" / "results" / "bulk.csv.results.csv"
        deadline = time.perf_counter() + 900
        while not result.exists():
            if time.perf_counter() > deadline:
                raise SystemExit("the update file's result never appeared")
            time.sleep(0.05)  # a benchmark polls; tests wait with wait_until
        written = time.perf_counter()
        lines = result.read_text().count("\n") - 1
        print(
            f"  upload closed -> result written: {written - closed_at['bulk.csv']:.1f}s "
            f"({lines:,} result rows)"
        )
    finally:
        hosted.stop()
