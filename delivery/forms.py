"""Portal forms for channels and deliveries: they parse input; delivery.services decides."""

from django import forms

from common.forms import ServiceErrorsMixin

from .channels.sftp.errors import SftpError
from .channels.sftp.keys import host_key_clean, private_key_clean
from .formats import format_choices
from .models import Channel, DeliveryStatus


class SecretTextarea(forms.Textarea):
    """A textarea that never writes its value into the page, as PasswordInput(render_value=
    False): a form shown again (an error, the fingerprint step) held the whole private key in
    the page's source (found in review)."""

    def format_value(self, value):
        return None


class EmailChannelForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"to": "addresses", "attach": "attach_format"}

    addresses = forms.CharField(
        label="Send new orders to",
        max_length=2000,
        help_text="One or more addresses, separated by commas.",
        widget=forms.TextInput(attrs={"autocomplete": "email"}),
    )
    attach_format = forms.ChoiceField(
        label="Attach the order file",
        required=False,
        choices=[("", "No attachment")],
        help_text="Each new order's email carries its file in this format.",
    )

    def __init__(self, *args, supplier=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if supplier is not None:
            self.fields["attach_format"].choices = [
                ("", "No attachment"),
                *format_choices(supplier, field="email_attach_format"),
            ]


class WebhookChannelForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"url": "url", "event_types": "url"}

    url = forms.CharField(
        label="Webhook URL",
        max_length=2000,
        help_text="We POST each order here the moment it is placed (https recommended).",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/orders"}),
    )


class SftpChannelForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"every": "interval_minutes", "format": "file_format", "hosted": "host"}

    host = forms.CharField(label="Host", max_length=255, required=False)
    port = forms.IntegerField(label="Port", initial=22, required=False)
    username = forms.CharField(label="User name", max_length=150, required=False)
    password = forms.CharField(
        label="Password",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Give a password or a private key. Leave both empty to keep the stored one; "
        "if you change the host, port or user name, the stored one is dropped and you give it "
        "again (it is never sent to another server).",
    )
    private_key = forms.CharField(
        label="Private key (instead of a password)",
        required=False,
        widget=SecretTextarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="OpenSSH format, without a passphrase. Stored encrypted, never shown back "
        "(give it again with the form, as the password).",
    )
    path = forms.CharField(
        label="Directory", max_length=500, required=False, help_text="Where the files go."
    )
    host_key = forms.CharField(
        label="Pinned host key",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text='The server\'s public key, "TYPE BASE64". Use “Fetch fingerprint” to read '
        "it from the server and confirm it.",
    )
    host_key_confirmed = forms.BooleanField(
        label="I have checked this fingerprint against my server's", required=False
    )
    interval_minutes = forms.IntegerField(
        label="Send files every (minutes)", initial=15, required=False
    )
    file_format = forms.ChoiceField(label="File format", choices=format_choices)

    def __init__(self, *args, supplier=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if supplier is not None:
            # The built-in formats and the ones made available to this supplier.
            self.fields["file_format"].choices = format_choices(supplier, field="sftp_format")

    # The same readers as the services and the connection (delivery/channels/sftp/keys.py),
    # so a key accepted here is the key the connection uses.

    def clean_host_key(self) -> str:
        value = self.cleaned_data["host_key"]
        if not value.strip():
            return ""
        try:
            return host_key_clean(value)
        except SftpError as exc:
            raise forms.ValidationError(exc.message)

    def clean_private_key(self) -> str:
        value = self.cleaned_data["private_key"]
        if not value.strip():
            return ""
        try:
            return private_key_clean(value)
        except SftpError as exc:
            raise forms.ValidationError(exc.message)


class DeliveryFilterForm(forms.Form):
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "All channels"), *Channel.choices]
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any status"),
            ("attention", "Failed or failing"),
            (DeliveryStatus.FAILED, "Failed"),
            ("failing", "Failing (retrying)"),
            (DeliveryStatus.PENDING, "Pending"),
            (DeliveryStatus.DELIVERED, "Delivered"),
            (DeliveryStatus.CANCELLED, "Cancelled"),
        ],
    )
