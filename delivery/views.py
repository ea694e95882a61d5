"""Portal pages for channels (/settings/) and the delivery log (/deliveries/).

Thin: parse the form, call one delivery service or selector, render. Every read and write
is scoped to the logged-in user's supplier; another supplier's ids give 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from suppliers.views import supplier_required

from .channels.sftp import SftpError, host_key_parse, sha256_fingerprint
from .forms import DeliveryFilterForm, EmailChannelForm, SftpChannelForm, WebhookChannelForm
from .hosted.selectors import hosted_overview
from .limits import webhook_test_wait
from .models import Channel, DeliveryStatus
from .selectors import deliveries_for_supplier, deliveries_with_facts, destinations_for_supplier
from .services import (
    deliveries_redeliver,
    delivery_redeliver,
    destination_disable,
    destination_set_email,
    destination_set_webhook,
    webhook_secret_rotate,
    webhook_send_test,
)

CHANNEL_LABELS = dict(Channel.choices)


# --- Settings -----------------------------------------------------------------------------


def host_key_fingerprint(host_key: str) -> str:
    try:
        _, blob = host_key_parse(host_key)
    except (SftpError, ValueError):
        return ""
    return sha256_fingerprint(blob)


def settings_page_render(request, *, status: int = 200, **overrides):
    """The settings page; `overrides` replace one section's form (bound, with errors)."""
    destinations = destinations_for_supplier(supplier=request.supplier)
    email, webhook, sftp = (destinations.get(c) for c in Channel.values)
    context = {
        "nav": "settings",
        "email": email,
        "webhook": webhook,
        "sftp": sftp,
        "email_form": EmailChannelForm(
            initial={
                "addresses": (email.email_addresses if email else request.supplier.order_emails),
                "attach_format": email.email_attach_format if email else "",
            },
            supplier=request.supplier,
        ),
        "webhook_form": WebhookChannelForm(initial={"url": webhook.webhook_url if webhook else ""}),
        "sftp_form": SftpChannelForm(
            initial={
                "host": sftp.sftp_host,
                "port": sftp.sftp_port,
                "username": sftp.sftp_username,
                "path": sftp.sftp_path,
                "host_key": sftp.sftp_host_key,
                "interval_minutes": sftp.sftp_interval_minutes,
                "file_format": sftp.sftp_format,
            },
            supplier=request.supplier,
        )
        if sftp
        # No SFTP yet: the empty form, to turn it on (it showed no fields before).
        else SftpChannelForm(supplier=request.supplier),
        "sftp_pinned_fingerprint": host_key_fingerprint(sftp.sftp_host_key) if sftp else "",
        "all_off": not any(d.enabled for d in destinations.values()),
        "hosted": hosted_overview(supplier=request.supplier),
    }
    context.update(overrides)
    response = render(request, "delivery/settings.html", context, status=status)
    # It may hold a secret shown once: no cache may keep it. What `never_cache` sets, here
    # where the page is made, so every view that renders it (GET and each form) gets it.
    add_never_cache_headers(response)
    return response


@supplier_required
@require_GET
def settings_page(request):
    return settings_page_render(request)


@supplier_required
@require_POST
def email_save(request):
    form = EmailChannelForm(request.POST, supplier=request.supplier)
    if form.is_valid():
        try:
            destination_set_email(
                supplier=request.supplier,
                addresses=form.cleaned_data["addresses"],
                # A form without the field (an older page) leaves the attachment as it is.
                attach_format=(
                    form.cleaned_data["attach_format"] if "attach_format" in request.POST else None
                ),
            )
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            messages.success(request, "Order emails are on and go to the addresses given.")
            return redirect("delivery:settings")
    return settings_page_render(request, status=400, email_form=form, open_section="email")


@supplier_required
@require_POST
def channel_off(request, channel: str):
    if channel not in Channel.values:
        raise Http404("No such channel.")
    destination = destination_disable(
        supplier=request.supplier,
        channel=channel,
        reason=f"turned off by {request.user.get_username()}",
    )
    if destination is not None:
        messages.success(request, f"{CHANNEL_LABELS[channel]} is off.")
        if destination.pending_cancelled:
            n = destination.pending_cancelled
            messages.warning(
                request,
                f"{n} deliver{'y' if n == 1 else 'ies'} not sent yet by it "
                f"{'was' if n == 1 else 'were'} cancelled. Once it is on again, redeliver "
                f"{'it' if n == 1 else 'them'} from Deliveries.",
            )
    if not any(d.enabled for d in destinations_for_supplier(supplier=request.supplier).values()):
        messages.warning(
            request,
            "Every channel is off: new orders reach you only through the supplier API "
            "(and ORDER HISTORY).",
        )
    return redirect("delivery:settings")


@supplier_required
@require_POST
def webhook_save(request):
    form = WebhookChannelForm(request.POST)
    if form.is_valid():
        try:
            _, generated = destination_set_webhook(
                supplier=request.supplier, url=form.cleaned_data["url"]
            )
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            if generated:
                return settings_page_render(
                    request,
                    webhook_secret_shown=generated,
                    shown_note="The webhook is on. This is its signing secret; it is shown "
                    "now, and again only when you reveal it.",
                )
            messages.success(request, "The webhook is on.")
            return redirect("delivery:settings")
    return settings_page_render(request, status=400, webhook_form=form)


def _webhook_or_404(request):
    webhook = destinations_for_supplier(supplier=request.supplier).get(Channel.WEBHOOK)
    if webhook is None or not webhook.webhook_url:
        raise Http404("No webhook is set up.")
    return webhook


@supplier_required
@require_POST
def webhook_secret_reveal(request):
    webhook = _webhook_or_404(request)
    return settings_page_render(
        request,
        webhook_secret_shown=webhook.webhook_secret,
        shown_note="Your current signing secret.",
    )


@supplier_required
@require_POST
def webhook_secret_rotate_view(request):
    webhook = _webhook_or_404(request)
    secret = webhook_secret_rotate(destination=webhook)
    return settings_page_render(
        request,
        webhook_secret_shown=secret,
        shown_note="A new signing secret is in use from now on; the old one no longer "
        "verifies. Update your receiver.",
    )


@supplier_required
@require_POST
def webhook_test(request):
    webhook = _webhook_or_404(request)
    wait = webhook_test_wait(supplier_id=request.supplier.pk)
    if wait is not None:
        messages.error(
            request,
            f"Test event not sent: at most {settings.WEBHOOK_TESTS_PER_MINUTE} test events a "
            f"minute; try again in {int(wait + 0.999)} s.",
        )
        return redirect("delivery:settings")
    result = webhook_send_test(destination=webhook)
    if result.ok:
        messages.success(
            request,
            f"Test event delivered: {webhook.webhook_url} answered HTTP {result.status_code} "
            f"in {result.duration_ms} ms.",
        )
    else:
        code = f" (HTTP {result.status_code})" if result.status_code else ""
        # A test changes nothing, but the supplier must know what a real event would do.
        error = result.error
        if result.status_code == 410:
            error = (
                f"{error.rstrip('.')}. The webhook stays on after a test; an order event "
                "answered 410 turns it off."
            )
        messages.error(request, f"Test event failed{code}: {error}")
    return redirect("delivery:settings")


# --- Deliveries ---------------------------------------------------------------------------

DELIVERIES_PAGE = 100
_FAILURES = ("failed", "failing")
# ORDER HISTORY's "failing deliveries" card links here: failed or failing, what it counts.
ATTENTION = "attention"


@supplier_required
@require_GET
def deliveries_page(request):
    """Failures first (failed, then failing), then the most recent of the rest."""
    form = DeliveryFilterForm(request.GET or None)
    channel = status = ""
    if form.is_bound and form.is_valid():
        channel, status = form.cleaned_data["channel"], form.cleaned_data["status"]
    failures, recent = [], []
    wanted = _FAILURES if status in ("", ATTENTION) else (status,)
    for state in _FAILURES:
        if state not in wanted:
            continue
        failures += list(
            deliveries_for_supplier(supplier=request.supplier, channel=channel, status=state)[
                :DELIVERIES_PAGE
            ]
        )
    if status not in (*_FAILURES, ATTENTION):
        qs = deliveries_for_supplier(supplier=request.supplier, channel=channel, status=status)
        if not status:
            failure_ids = [d.pk for d in failures]
            qs = qs.exclude(status=DeliveryStatus.FAILED).exclude(pk__in=failure_ids)
        recent = list(qs[:DELIVERIES_PAGE])
    return render(
        request,
        "delivery/deliveries.html",
        {
            "nav": "deliveries",
            "form": form,
            "channel": channel,
            "status": status,
            "status_label": dict(form.fields["status"].choices).get(status, ""),
            "failures": deliveries_with_facts(failures),
            "recent": deliveries_with_facts(recent),
            "page_limit": DELIVERIES_PAGE,
            "has_failed": any(d.status == DeliveryStatus.FAILED for d in failures),
            "self_url": request.get_full_path(),
        },
    )


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@supplier_required
@require_POST
def delivery_redeliver_view(request, delivery_id: int):
    delivery = deliveries_for_supplier(supplier=request.supplier).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    try:
        delivery = delivery_redeliver(delivery=delivery, by_supplier=True)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.message_dict["delivery"]))
        return redirect(_next_url(request, "/deliveries/"))
    messages.success(
        request,
        f"Redelivery queued: {delivery.get_channel_display()} to {delivery.recipient or '—'} "
        f"(same id {delivery.identity}, so the receiver can spot a repeat).",
    )
    return redirect(_next_url(request, "/deliveries/"))


@supplier_required
@require_POST
def deliveries_redeliver_failed(request):
    channel = request.POST.get("channel", "")
    if channel and channel not in Channel.values:
        # Only a hand-made request sends one (the page offers the channels): a 400 naming the
        # field, nothing queued; it was a redirect, as a success is (found in review).
        return HttpResponseBadRequest(
            f"channel: unknown channel; use {', '.join(Channel.values)}.",
            content_type="text/plain; charset=utf-8",
        )
    batch = settings.DELIVERY_PORTAL_REDELIVER_BATCH
    result = deliveries_redeliver(
        supplier=request.supplier,
        channel=channel or None,
        failed_only=True,
        by_supplier=True,
        batch=batch,
    )
    count = result.queued
    if result.cooling:
        messages.info(
            request,
            f"{result.cooling} redelivered moments ago were left alone; try again in "
            f"{settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS} seconds if they have not arrived.",
        )
    if result.channel_off:
        messages.info(
            request,
            f"{result.channel_off} of a channel that is off were left alone; turn it on in "
            "Settings first.",
        )
    if result.left:
        messages.info(
            request,
            f"{result.left} more failed deliver{'y was' if result.left == 1 else 'ies were'} "
            f"not queued yet (at most {batch} a press, the oldest first): press “Redeliver "
            "all failed” again to send the next ones.",
        )
    what = CHANNEL_LABELS.get(channel, "all channels")
    if count:
        messages.success(
            request, f"{count} failed deliver{'y' if count == 1 else 'ies'} ({what}) queued again."
        )
    elif result.cooling or result.channel_off:
        # There were failed ones, all left alone (said above): not "there were none".
        messages.info(request, f"No failed delivery ({what}) was queued again.")
    else:
        messages.success(request, "There were no failed deliveries to send again.")
    query = urlencode({"channel": channel}) if channel else ""
    return redirect("/deliveries/" + (f"?{query}" if query else ""))
