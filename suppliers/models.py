"""Who suppliers are: the supplier, its users, its catalogue and its API tokens."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from common.text import validate_one_line

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. GBP.")


class Supplier(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, validators=[validate_one_line])
    # The supplier's contact addresses for orders, comma-separated; the email channel sends
    # to these and failure notices go here.
    order_emails = models.TextField(help_text="Comma-separated addresses.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def order_email_list(self) -> list[str]:
        return [e.strip() for e in self.order_emails.split(",") if e.strip()]


class SupplierMembership(models.Model):
    """A portal user belongs to exactly one supplier."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supplier_membership"
    )
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} @ {self.supplier}"


class Product(models.Model):
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=300, validators=[validate_one_line])
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="GBP", validators=[currency_validator])
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.sku


class ApiTokenScope(models.TextChoices):
    """What a token may do: read orders (the default), or read them and report back."""

    READ = "read", "Read"
    READ_UPDATE = "read_update", "Read and update"


class ApiToken(models.Model):
    """A supplier's API token. Only its SHA-256 is stored; the token is shown once."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    # Chosen at creation and never changed: a token that should do more is a new token.
    scope = models.CharField(max_length=16, choices=ApiTokenScope.choices, default="read")
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The portal form's one-time key it was made from: the same form sent again (a reload of
    # the page that showed the token) finds this token instead of making another.
    form_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "form_key"],
                condition=~models.Q(form_key=""),
                name="apitoken_form_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier.slug}:{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_update(self) -> bool:
        return self.scope == ApiTokenScope.READ_UPDATE
