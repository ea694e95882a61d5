"""The monthly summary email: subject, text and HTML from a summary's stored figures.

Registered with delivery's email channel by purpose (MONTHLY_SUMMARY) from
StatementsConfig.ready(); delivery never imports this app. Before a batch is rendered the
channel calls `_summaries_load`, so a batch of summaries costs one query, not one each.
"""

from __future__ import annotations

import uuid
from datetime import date
from email.generator import NLCRE, BytesGenerator
from functools import lru_cache
from io import BytesIO

import jinja2
import orjson
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.db.models import TextField
from django.db.models.functions import Cast

from common.email_html import email_context
from common.gc_pause import gc_paused
from delivery.channels.base import DeliveryFailed
from delivery.emails import register_email_renderer
from delivery.models import Delivery, DeliveryPurpose

from .email_rows import (
    cancellation_lines,
    order_rows_html,
    order_rows_text,
    percent,
    shipment_rows_html,
    shipment_rows_text,
    when,
)
from .models import MonthlySummary, summary_id_from_source_key
from .order_list import (
    summary_order_list_csv,
    summary_order_list_filename,
    summary_orders_attached,
)

# Jinja2, not Django templates, for this one email: a summary has a row per order, and the
# benchmark (bench/summaries.py) needs hundreds of them a second; Django's engine spends
# ~10 ms on a 100-order month, Jinja2's compiled templates well under 1 ms.


def _month_name(value: str) -> str:
    return date.fromisoformat(f"{value}-01").strftime("%B %Y")


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(path) for path in settings.TEMPLATES[0]["DIRS"]]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        when=when,
        cancellation_lines=cancellation_lines,
        percent=percent,
        month_name=_month_name,
        order_rows_html=order_rows_html,
        order_rows_text=order_rows_text,
        shipment_rows_html=shipment_rows_html,
        shipment_rows_text=shipment_rows_text,
    )
    return environment


def summary_email_parts(*, figures: dict, retailer_name: str) -> tuple[str, str, str]:
    """Subject, text and HTML of a summary, from its stored figures."""
    attached = summary_orders_attached(figures=figures)
    context = {
        "f": figures,
        "retailer_name": retailer_name,
        "month_label": _month_name(figures["month"]),
        # A big month: the order list (and each order's parcels) is the CSV attachment.
        "orders_attached": attached,
        "attachment_name": summary_order_list_filename(figures=figures) if attached else "",
        **email_context(),
    }
    # A header holds one line: a retailer name with a newline must not break it.
    subject = " ".join(
        f"Your monthly summary for {context['month_label']}: {retailer_name}".split()
    )
    environment = _templates()
    text = environment.get_template("statements/email/monthly_summary.txt").render(context)
    html = environment.get_template("statements/email/monthly_summary.html").render(context)
    return subject, text, html


class _SummaryEmail(EmailMultiAlternatives):
    """A summary's email with its MIME boundary chosen here, from a random token checked
    against the two bodies: the standard library would otherwise pick one while writing the
    message and check it with a regular expression over the whole flattened text (~0.5 ms
    of a 34 KiB summary's send)."""

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if msg.is_multipart() and msg.get_boundary() is None:
            bodies = [self.body] + [alternative.content for alternative in self.alternatives]
            while True:
                boundary = f"===============summary{uuid.uuid4().hex}=="
                if not any(boundary in body for body in bodies if isinstance(body, str)):
                    break
            msg.set_boundary(boundary)
        return msg

    def message(self):
        msg = super().message()
        if type(msg) is SafeMIMEMultipart:  # always, with the HTML alternative
            msg.__class__ = _SummaryMIME
        return msg


class _BodyAtOnceGenerator(BytesGenerator):
    """The standard BytesGenerator, but a body's lines are written in one write instead of
    two per line (a summary's ~500 lines, half of flattening it): the same bytes, as
    `_write_lines` writes each line and the line end between them, and no end after the
    last when the text has none (email.generator)."""

    def _write_lines(self, lines):
        if lines:
            self.write(self._NL.join(NLCRE.split(lines)))


class _SummaryMIME(SafeMIMEMultipart):
    """A summary's message, flattened by `_BodyAtOnceGenerator` (Django's as_bytes else)."""

    def as_bytes(self, unixfrom=False, linesep="\n"):
        fp = BytesIO()
        generator = _BodyAtOnceGenerator(fp, mangle_from_=False)
        generator.flatten(self, unixfrom=unixfrom, linesep=linesep)
        return fp.getvalue()


def _summaries_load(deliveries: list[Delivery]) -> None:
    """Before a batch is rendered: each summary delivery's summary and retailer, one query."""
    wanted = {d.pk: summary_id_from_source_key(d.source_key) for d in deliveries}
    # The figures as JSON text, parsed here with orjson (~4x faster than json.loads on a
    # 40 KiB month).
    summaries = (
        MonthlySummary.objects.select_related("retailer")
        .defer("figures")
        .annotate(figures_text=Cast("figures", output_field=TextField()))
        .in_bulk({pk for pk in wanted.values() if pk is not None})
    )
    with gc_paused():  # a batch's figures: ~40,000 dicts and lists (common/gc_pause.py)
        for summary in summaries.values():
            summary.figures = orjson.loads(summary.figures_text)
            del summary.figures_text
    for delivery in deliveries:
        delivery._summary = summaries.get(wanted[delivery.pk])


def _summary_of(delivery: Delivery) -> MonthlySummary:
    summary = getattr(delivery, "_summary", None)
    if summary is not None:
        return summary
    summary_id = summary_id_from_source_key(delivery.source_key)
    summary = (
        MonthlySummary.objects.select_related("retailer").filter(pk=summary_id).first()
        if summary_id is not None
        else None
    )
    if summary is None:
        raise DeliveryFailed(f"no summary named by {delivery.source_key!r}", retryable=False)
    return summary


@register_email_renderer(DeliveryPurpose.MONTHLY_SUMMARY, prepare=_summaries_load)
def summary_email_render(delivery: Delivery) -> EmailMultiAlternatives:
    summary = _summary_of(delivery)
    subject, text, html = summary_email_parts(
        figures=summary.figures, retailer_name=summary.retailer.name
    )
    message = _SummaryEmail(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address.strip() for address in delivery.recipient.split(",") if address.strip()],
    )
    message.attach_alternative(html, "text/html")
    if summary_orders_attached(figures=summary.figures):
        message.attach(
            summary_order_list_filename(figures=summary.figures),
            summary_order_list_csv(figures=summary.figures),
            "text/csv",
        )
    return message
