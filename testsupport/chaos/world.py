"""The soak's marketplace: three suppliers (every channel on), three retailers, keys."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

SUPPLIERS = ("alpha", "beta", "gamma")
RETAILERS = ("r1", "r2", "r3")


@dataclass
class SupplierSetup:
    slug: str
    token: str  # supplier API token (update scope)
    webhook_secret: str
    skus: list[str]
    sftp: str  # "own" (the supplier's sshd), "hosted" (our serve_sftp) or ""
    orders_dir: Path | None = None  # where its order files land
    updates_dir: Path | None = None  # own server: where we drop its update files
    key_path: Path | None = None  # hosted: its SSH key


@dataclass
class RetailerSetup:
    slug: str
    key: str
    email: str
    webhook_secret: str = ""


@dataclass
class World:
    suppliers: dict[str, SupplierSetup] = field(default_factory=dict)
    retailers: dict[str, RetailerSetup] = field(default_factory=dict)

    def secret_for_path(self, path: str) -> str | None:
        kind, _, slug = path.strip("/").partition("/")[2].partition("-")
        if kind == "s" and slug in self.suppliers:
            return self.suppliers[slug].webhook_secret
        if kind == "r" and slug in self.retailers:
            return self.retailers[slug].webhook_secret
        return None


def world_make(*, stack) -> World:
    """Everything through the services, as `set_channel` and the portal make it."""
    from django.conf import settings

    from delivery.hosted.credentials import hosted_key_add
    from delivery.hosted.storage import supplier_folder
    from delivery.services import destination_set_sftp, destination_set_webhook
    from delivery.services.retailers import retailer_webhook_set
    from orders.services import retailer_create
    from suppliers.services import api_token_create, supplier_create
    from testsupport.factories import make_products

    world = World()
    hook = stack.receiver.url + "/hook"
    for slug in SUPPLIERS:
        supplier = supplier_create(slug=slug, name=slug.title(), order_emails=f"po@{slug}.example")
        skus = [f"{slug.upper()}-{n}" for n in (1, 2, 3)]
        make_products(supplier=supplier, skus={sku: "5.00" for sku in skus})
        _, token = api_token_create(supplier=supplier, name="soak", can_update=True)
        _, secret = destination_set_webhook(supplier=supplier, url=f"{hook}/s-{slug}")
        setup = SupplierSetup(slug=slug, token=token, webhook_secret=secret, skus=skus, sftp="")
        if slug == "alpha":
            sshd = stack.sshd
            destination_set_sftp(
                supplier=supplier,
                host=sshd.host,
                port=sshd.port,
                username=sshd.username,
                private_key=sshd.private_key,
                path=str(sshd.upload_root),
                host_key=sshd.host_key_line,
                interval_minutes=1,
                updates_path="updates",
            )
            setup.sftp = "own"
            setup.orders_dir = sshd.upload_root
            setup.updates_dir = sshd.upload_root / "updates"
        elif slug == "beta":
            key = stack.base / "beta_ed25519"
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "beta", "-f", str(key)],
                check=True,
                capture_output=True,
                timeout=60,
            )
            destination_set_sftp(supplier=supplier, hosted=True, interval_minutes=1)
            hosted_key_add(supplier=supplier, public_key=Path(f"{key}.pub").read_text())
            setup.sftp = "hosted"
            setup.key_path = key
            setup.orders_dir = supplier_folder(slug) / "orders"
            setup.updates_dir = supplier_folder(slug) / "updates"
        world.suppliers[slug] = setup
    for slug in RETAILERS:
        email = f"buyers@{slug}.example"
        retailer, key = retailer_create(
            slug=slug, name=slug.upper(), email=email, commission_rate=Decimal("0.10")
        )
        setup = RetailerSetup(slug=slug, key=key, email=email)
        if slug == "r1":
            _, secret = retailer_webhook_set(retailer=retailer, url=f"{hook}/r-{slug}")
            setup.webhook_secret = secret
        world.retailers[slug] = setup
    assert settings.HOSTED_SFTP_ROOT
    return world
