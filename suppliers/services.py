"""Every write to suppliers, their users, catalogue and tokens."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.csv import csv_rows_naming_the_line
from common.emails import internet_address_refusal
from common.text import one_line_problem

from .models import ApiToken, ApiTokenScope, Product, Supplier, SupplierMembership
from .secrets import token_digest, token_generate
from .signals import supplier_created


def emails_clean(*, value: str, field: str = "order_emails") -> str:
    """Validate a comma-separated list of addresses and return it normalised."""
    addresses = [e.strip() for e in value.split(",") if e.strip()]
    if not addresses:
        raise ValidationError({field: ["Give at least one email address."]})
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError({field: [f"'{address}' is not a valid email address."]})
        # Not at an IP address or localhost, which Django's validator takes (common/emails.py).
        refusal = internet_address_refusal(address)
        if refusal:
            raise ValidationError({field: [refusal]})
    return ",".join(addresses)


@transaction.atomic
def supplier_create(*, slug: str, name: str, order_emails: str) -> Supplier:
    """A new supplier; `supplier_created` lets delivery turn its email channel on with it."""
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValidationError({"slug": ["Use letters, numbers, hyphens and underscores."]})
    if Supplier.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"A supplier '{slug}' already exists."]})
    supplier = Supplier(slug=slug, name=name.strip(), order_emails=emails_clean(value=order_emails))
    supplier.full_clean()
    supplier.save()
    # In this transaction: what other apps add for a new supplier (its email channel) is made
    # with it or not at all (suppliers/signals.py).
    supplier_created.send(sender=Supplier, supplier=supplier)
    return supplier


@transaction.atomic
def supplier_user_create(
    *, supplier: Supplier, username: str, email: str, password: str | None = None
):
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": [f"A user '{username}' already exists."]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [f"'{email}' is not a valid email address."]})
    user = User(username=username, email=email)
    if password:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages})
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    SupplierMembership.objects.create(user=user, supplier=supplier)
    return user


class ApiTokenAlreadyCreated(Exception):
    """The portal form with this key made a token before (the page reloaded, which sends its
    POST again): nothing new is made; `token` is the one made then."""

    def __init__(self, token: ApiToken):
        self.token = token
        super().__init__(f"token {token.prefix} was made from this form already")


FORM_KEY_MAX = ApiToken._meta.get_field("form_key").max_length


def api_token_create(
    *, supplier: Supplier, name: str = "", can_update: bool = False, form_key: str = ""
) -> tuple[ApiToken, str]:
    """Create a token; return the row and the plain token, which is never stored.

    A token reads only unless `can_update` (the update API's endpoints need it). `form_key`
    (the portal form's one-time key): a second call with the same key makes nothing and
    raises ApiTokenAlreadyCreated, so a reloaded page cannot make an unseen extra token.
    """
    form_key = (form_key or "").strip()
    if len(form_key) > FORM_KEY_MAX or one_line_problem(form_key):
        raise ValidationError({"form_key": ["The form lost its key; reload the page."]})
    if form_key:
        existing = ApiToken.objects.filter(supplier=supplier, form_key=form_key).first()
        if existing is not None:
            raise ApiTokenAlreadyCreated(existing)
    plain = token_generate(prefix="sup")
    token = ApiToken(
        supplier=supplier,
        name=name.strip()[:100],
        prefix=plain[:12],
        token_hash=token_digest(plain),
        scope=ApiTokenScope.READ_UPDATE if can_update else ApiTokenScope.READ,
        form_key=form_key,
    )
    token.full_clean()
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError:
        # The same form sent twice at once: the other request made it.
        existing = ApiToken.objects.filter(supplier=supplier, form_key=form_key).first()
        if not form_key or existing is None:
            raise
        raise ApiTokenAlreadyCreated(existing) from None
    return token, plain


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record use, at most once a minute per token, so reads stay cheap."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


@dataclass
class ProductRow:
    sku: str
    name: str
    price: Decimal
    currency: str


def _csv_records(reader):
    return csv_rows_naming_the_line(
        reader, error=lambda line, exc: ValidationError({f"line {line}": [f"not CSV: {exc}"]})
    )


def products_parse_csv(*, text: str) -> list[ProductRow]:
    """Parse `sku,name,price[,currency]` rows (an optional header row); raise naming the line."""
    rows: list[ProductRow] = []
    seen: set[str] = set()
    reader = csv.reader(io.StringIO(text))
    for number, record in enumerate(_csv_records(reader), start=1):
        if not record or all(not c.strip() for c in record):
            continue
        if number == 1 and [c.strip().lower() for c in record[:3]] == ["sku", "name", "price"]:
            continue
        if len(record) not in (3, 4):
            raise ValidationError({f"line {number}": ["expected sku,name,price[,currency]"]})
        sku, name, price_text = (c.strip() for c in record[:3])
        currency = record[3].strip().upper() if len(record) == 4 and record[3].strip() else "GBP"
        # Before any query: a NUL makes the database refuse the query (a traceback).
        for field, value in (("sku", sku), ("name", name), ("price", price_text)):
            problem = one_line_problem(value)
            if problem:
                raise ValidationError({f"line {number}": [f"{field}: {problem}"]})
        if not sku:
            raise ValidationError({f"line {number}": ["sku is empty"]})
        if sku in seen:
            raise ValidationError({f"line {number}": [f"sku '{sku}' appears twice"]})
        if not name:
            raise ValidationError({f"line {number}": ["name is empty"]})
        try:
            price = Decimal(price_text)
        except InvalidOperation:
            raise ValidationError({f"line {number}": [f"price '{price_text}' is not a number"]})
        try:
            # quantize raises for a finite price too large for the context (1e400).
            exact = price.is_finite() and price >= 0 and price == price.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ValidationError(
                {f"line {number}": [f"price '{price_text}' is too large for a price"]}
            )
        if not exact:
            raise ValidationError(
                {f"line {number}": [f"price '{price_text}' must be >= 0 with at most 2 decimals"]}
            )
        if len(currency) != 3 or not currency.isalpha():
            raise ValidationError({f"line {number}": [f"currency '{currency}' is not ISO 4217"]})
        seen.add(sku)
        rows.append(ProductRow(sku=sku, name=name, price=price, currency=currency))
    return rows


@transaction.atomic
def products_import(*, supplier: Supplier, rows: list[ProductRow]) -> tuple[int, int]:
    """Upsert catalogue rows by SKU; return (created, updated). All or nothing."""
    existing = {
        p.sku: p for p in Product.objects.select_for_update().filter(sku__in=[r.sku for r in rows])
    }
    created = updated = 0
    for row in rows:
        product = existing.get(row.sku)
        if product is not None and product.supplier_id != supplier.pk:
            raise ValidationError(
                {"sku": [f"SKU '{row.sku}' belongs to another supplier; SKUs are unique."]}
            )
        if product is None:
            product = Product(supplier=supplier, sku=row.sku)
            created += 1
        else:
            updated += 1
        product.name, product.price, product.currency = row.name, row.price, row.currency
        product.full_clean()
        product.save()
    return created, updated
