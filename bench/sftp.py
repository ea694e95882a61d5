"""Benchmark: N order files to SFTP in one run, our channel against OpenSSH's `sftp -b`.

    DEBUG=true .venv/bin/python bench/sftp.py            # 1,000 orders
    BENCH_SFTP_ORDERS=200 DEBUG=true .venv/bin/python bench/sftp.py

Starts its own sshd (testsupport/sshd.py). Orders are placed through the intake
service into a throwaway SQLite database (or BENCH_DATABASE_URL, e.g. postgres://.../op_sftp).

Ours: `SftpChannel().send_batch(deliveries)`: loads the orders, renders each CSV, and uploads
it over one connection (pinned host key, temporary name, posix-rename). Render and database
time count on our side.
Baseline: OpenSSH's `sftp -b` with the same files already rendered on disk, one `put` each,
over one connection, with StrictHostKeyChecking=yes against a known_hosts holding the pinned
key and key auth. It writes straight to the final names (no temporary name, no rename).
Goal: our files/s at least 0.3 of sftp -b's.

Then the hosted server (bench/sftp_hosted.py): the same files downloaded from serve_sftp and
from OpenSSH's sftp-server, and a 10,000-row update file applied end to end
(BENCH_SFTP_UPDATE_ORDERS orders of ten rows, default 1,000; 0 skips it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_SFTP_ORDERS", "1000"))
_db_dir = tempfile.mkdtemp(prefix="op-bench-sftp-db-")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{_db_dir}/bench.sqlite3"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")
# The benchmark's sshd listens on 127.0.0.1, which the SFTP address check refuses otherwise.
os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"

import django  # noqa: E402

from bench.databases import database_ensure  # noqa: E402

database_ensure(os.environ["DATABASE_URL"])
django.setup()

from django.core.management import call_command  # noqa: E402

from delivery.channels.base import SendResult  # noqa: E402
from delivery.channels.sftp import SftpChannel  # noqa: E402
from delivery.formats import FORMATS  # noqa: E402
from delivery.models import Channel, Delivery, DeliveryPurpose, Destination  # noqa: E402
from orders.documents import orders_with_document_relations  # noqa: E402
from orders.models import Order, OrderEventType  # noqa: E402
from orders.signals import order_events_committed  # noqa: E402
from testsupport.factories import (  # noqa: E402
    make_products,
    make_retailer,
    make_supplier,
    place_order,
)
from testsupport.sshd import (  # noqa: E402
    SftpTestServer,
    find_binaries,
    find_sftp_client,
)


def setup_orders(server: SftpTestServer, directory: Path) -> tuple[list[Delivery], list[Order]]:
    call_command("migrate", verbosity=0)
    tag = os.urandom(3).hex()
    supplier = make_supplier(slug=f"bench-{tag}")
    make_products(supplier=supplier, skus={f"B{tag}-1": "9.50", f"B{tag}-2": "3.25"})
    retailer, _ = make_retailer(slug=f"benchshop-{tag}")
    destination = Destination(
        supplier=supplier,
        channel=Channel.SFTP,
        sftp_host=server.host,
        sftp_port=server.port,
        sftp_username=server.username,
        sftp_private_key=server.private_key,
        sftp_path=str(directory),
        sftp_host_key=server.host_key_line,
    )
    destination.full_clean()
    destination.save()
    # Place orders without the delivery engine reacting: this measures the channel alone.
    receivers, order_events_committed.receivers = order_events_committed.receivers, []
    try:
        orders = []
        for i in range(N):
            lines = [{"sku": f"B{tag}-1", "quantity": 1 + i % 3}]
            if i % 2:
                lines.append({"sku": f"B{tag}-2", "quantity": 2})
            orders.extend(place_order(retailer=retailer, lines=lines))
    finally:
        order_events_committed.receivers = receivers
        order_events_committed.sender_receivers_cache.clear()
    deliveries = []
    for order in orders:
        event = order.events.get(type=OrderEventType.CREATED)
        deliveries.append(
            Delivery.objects.create(
                event=event,
                supplier=supplier,
                destination=destination,
                channel=Channel.SFTP,
                purpose=DeliveryPurpose.SUPPLIER_ORDER,
                target_key=f"destination:{destination.pk}",
                identity=f"bench:{event.pk}:{destination.pk}",
            )
        )
    deliveries = list(
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).select_related("destination")
    )
    return deliveries, orders


def main() -> None:
    sshd, keygen = find_binaries()
    sftp = find_sftp_client()
    if not sshd or not keygen or not sftp:
        sys.exit("needs OpenSSH: sshd (openssh-server), ssh-keygen and sftp (openssh-client)")
    with SftpTestServer(sshd=sshd, ssh_keygen=keygen) as server:
        ours_dir = server.make_dir("ours")
        theirs_dir = server.make_dir("sftp-b")
        print(f"sftp benchmark: {N} orders, sshd on {server.host}:{server.port}")
        started = time.perf_counter()
        deliveries, orders = setup_orders(server, ours_dir)
        print(f"  setup (placing orders): {time.perf_counter() - started:.1f}s")

        # Baseline input: the same files, rendered beforehand (not timed).
        local = Path(tempfile.mkdtemp(prefix="op-bench-sftp-files-", dir=server.base))
        loaded = orders_with_document_relations(Order.objects.filter(pk__in=[o.pk for o in orders]))
        for order in loaded:
            (local / f"{order.number}.csv").write_bytes(FORMATS["csv"].render(order))
        batch = local / "batch.txt"
        names = sorted(name for name in os.listdir(local) if name.endswith(".csv"))
        batch.write_text("".join(f'put "{local / n}" "{theirs_dir / n}"\n' for n in names))
        known_hosts = local / "known_hosts"
        known_hosts.write_text(server.known_hosts_line + "\n")

        started = time.perf_counter()
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
                f"IdentityFile={server.private_key_path}",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-P",
                str(server.port),
                f"{server.username}@{server.host}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        theirs_seconds = time.perf_counter() - started

        started = time.perf_counter()
        results = SftpChannel().send_batch(deliveries)
        ours_seconds = time.perf_counter() - started

        failed = [r for r in results.values() if not isinstance(r, SendResult)]
        if failed:
            sys.exit(f"{len(failed)} of our uploads failed, e.g. {failed[0]}")
        ours_files = sorted(p.name for p in ours_dir.iterdir())
        theirs_files = sorted(p.name for p in theirs_dir.iterdir())
        assert ours_files == theirs_files and len(ours_files) == N, "file sets differ"
        for name in ours_files[:: max(1, N // 50)]:
            assert (ours_dir / name).read_bytes() == (theirs_dir / name).read_bytes(), name

        ours_rate = N / ours_seconds
        theirs_rate = N / theirs_seconds
        print(f"  sftp -b (baseline): {theirs_seconds:.2f}s  {theirs_rate:,.0f} files/s")
        print(
            f"  SftpChannel:        {ours_seconds:.2f}s  {ours_rate:,.0f} files/s "
            "(incl. loading orders and rendering CSV; temp name + posix-rename)"
        )
        ratio = ours_rate / theirs_rate
        print(f"  ratio ours/sftp-b throughput: {ratio:.2f} (goal >= 0.3)")

        from bench.sftp_hosted import hosted_section

        hosted_section(
            server=server,
            sftp=sftp,
            rendered=local,
            n=N,
            update_orders=int(os.environ.get("BENCH_SFTP_UPDATE_ORDERS", "1000")),
        )


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(_db_dir, ignore_errors=True)
