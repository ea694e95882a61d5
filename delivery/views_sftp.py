"""The settings page's SFTP section: save (two steps: fetch the key, then pin it), test.

Thin like the other portal views (delivery/views.py, whose settings page this renders): the
form reads the keys, delivery.services decides what is stored, delivery.channels.sftp
connects. "Fetch fingerprint" and "Test connection" are limited per supplier
(delivery/limits.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from suppliers.views import supplier_required

from .channels.sftp import SftpError, sftp_fetch_host_key
from .channels.sftp import sftp_test_connection as sftp_connection_test
from .forms import SftpChannelForm
from .limits import sftp_probe_wait
from .models import Channel
from .selectors import destinations_for_supplier
from .services import destination_set_sftp
from .views import host_key_fingerprint, settings_page_render


@supplier_required
@require_POST
def sftp_save(request):
    """Two steps: "fetch" reads the server's key and shows its fingerprint; "save" pins it."""
    form = SftpChannelForm(request.POST, supplier=request.supplier)
    current = destinations_for_supplier(supplier=request.supplier).get(Channel.SFTP)
    if not form.is_valid():
        return settings_page_render(request, status=400, sftp_form=form)
    data = form.cleaned_data
    if request.POST.get("action") == "fetch":
        wait = sftp_probe_wait(supplier_id=request.supplier.pk)
        if wait is not None:
            form.add_error("host", _too_often(wait))
            return settings_page_render(request, status=429, sftp_form=form)
        try:
            key_type, key_b64, fingerprint = sftp_fetch_host_key(
                host=data["host"], port=data["port"] or 22
            )
        except SftpError as exc:
            form.add_error("host", exc.message)
            return settings_page_render(request, status=400, sftp_form=form)
        values = request.POST.copy()
        values["host_key"] = f"{key_type} {key_b64}"
        values.pop("host_key_confirmed", None)
        return settings_page_render(
            request,
            sftp_form=SftpChannelForm(values, supplier=request.supplier),
            sftp_fetched_fingerprint=fingerprint,
        )

    if (
        current is not None
        and current.sftp_hosted
        and not (data["password"] or data["private_key"])
    ):
        return _sftp_save_hosted(request, form, current)
    host_key = data["host_key"]
    pinned = current.sftp_host_key if current else ""
    if host_key and host_key != pinned and not data["host_key_confirmed"]:
        form.add_error(
            "host_key_confirmed",
            "Confirm that this fingerprint is your server's before it is pinned.",
        )
        return settings_page_render(
            request,
            status=400,
            sftp_form=form,
            sftp_fetched_fingerprint=host_key_fingerprint(host_key),
        )
    # A blank password and key keep the stored one only while host, port and user name stay
    # the same (the service decides).
    return _sftp_store(
        request,
        form,
        success="The SFTP file drop is on. Use “Test connection” to check it end to end.",
        host=data["host"],
        port=data["port"] if data["port"] is not None else 22,
        username=data["username"],
        password=data["password"] or None,
        private_key=data["private_key"] or None,
        path=data["path"],
        host_key=host_key,
    )


def _sftp_store(request, form, *, success: str, **connection):
    """Save through the service with the form's interval and format; its refusals go back
    onto the form (400), nothing stored."""
    data = form.cleaned_data
    try:
        destination_set_sftp(
            supplier=request.supplier,
            # Blank keeps the drop's interval (a new drop: 15), as the service says; it set
            # an existing drop's back to 15 (found in review).
            interval_minutes=data["interval_minutes"],
            file_format=data["file_format"],
            **connection,
        )
    except ValidationError as exc:
        form.add_service_errors(exc.message_dict)
        return settings_page_render(request, status=400, sftp_form=form)
    messages.success(request, success)
    return redirect("delivery:settings")


def _too_often(wait: float) -> str:
    return (
        f"At most {settings.SFTP_PROBES_PER_MINUTE} fingerprint fetches and connection tests "
        f"a minute; try again in {int(wait + 0.999)} s."
    )


def _sftp_save_hosted(request, form, current):
    """A hosted drop: only the interval and the format are the supplier's. Host, port, user
    name, directory and pinned key are the platform's; a form that changes them is refused
    (to move to an own server, the supplier gives that server's password or key)."""
    data = form.cleaned_data
    fixed = {
        "host": current.sftp_host,
        "port": current.sftp_port,
        "username": current.sftp_username,
        "path": current.sftp_path,
        "host_key": current.sftp_host_key,
    }
    changed = [name for name, value in fixed.items() if data[name] not in ("", None, value)]
    if changed:
        for name in changed:
            form.add_error(
                name,
                "Your file drop is on the platform's hosted server: this is set by the "
                "platform. To use your own server, give its password or private key too.",
            )
        return settings_page_render(request, status=400, sftp_form=form)
    return _sftp_store(
        request, form, success="The SFTP file drop on our hosted server is on.", hosted=True
    )


@supplier_required
@require_POST
def sftp_test(request):
    sftp = destinations_for_supplier(supplier=request.supplier).get(Channel.SFTP)
    if sftp is None:
        raise Http404("No SFTP drop is set up.")
    wait = sftp_probe_wait(supplier_id=request.supplier.pk)
    if wait is not None:
        messages.error(request, f"Connection test not run: {_too_often(wait)}")
        return redirect("delivery:settings")
    ok, message = sftp_connection_test(destination=sftp)
    (messages.success if ok else messages.error)(
        request, message if ok else f"Connection test failed: {message}"
    )
    return redirect("delivery:settings")
