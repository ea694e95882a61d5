"""A service's ValidationError shown on a form (common/forms.py)."""

from django import forms

from common.forms import ServiceErrorsMixin


class ChannelForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"to": "addresses", "version": None}

    addresses = forms.CharField()
    version = forms.IntegerField(widget=forms.HiddenInput)


def test_service_errors_land_on_the_mapped_field_or_on_the_form():
    form = ChannelForm(data={"addresses": "a@example.com", "version": "1"})
    assert form.is_valid()
    form.add_service_errors(
        {
            "to": ["Not an address."],
            "version": ["Changed since you opened it."],
            "elsewhere": ["Something else."],
        }
    )
    assert form.errors["addresses"] == ["Not an address."]
    assert form.non_field_errors() == ["Changed since you opened it.", "Something else."]
    assert "version" not in form.errors
