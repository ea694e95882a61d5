"""The API tokens page keeps what was asked for when it refuses a name."""

import pytest

from suppliers.models import ApiToken


def _checkbox(body: str) -> str:
    start = body.index('name="can_update"')
    return body[body.rindex("<input", 0, start) : body.index(">", start) + 1]


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_a_refused_name_keeps_the_update_checkbox_ticked(ann_client, name):
    response = ann_client.post("/settings/api-tokens/", {"name": name, "can_update": "on"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "checked" in _checkbox(body)
    assert not ApiToken.objects.exists()

    # Fixed and sent again, the token gets the scope asked for the first time.
    response = ann_client.post("/settings/api-tokens/", {"name": "ERP", "can_update": "on"})
    assert response.status_code == 200
    (token,) = ApiToken.objects.all()
    assert token.can_update
    # And the form is empty again for the next one.
    assert "checked" not in _checkbox(response.content.decode())


def test_the_checkbox_starts_unticked(ann_client):
    assert "checked" not in _checkbox(ann_client.get("/settings/api-tokens/").content.decode())


def _form_key(body: str) -> str:
    """The form's one-time key, as a browser sends it back ("" if the page has none)."""
    if 'name="form_key"' not in body:
        return ""
    start = body.index('name="form_key"')
    tag = body[body.rindex("<input", 0, start) : body.index(">", start)]
    return tag.split('value="', 1)[1].split('"', 1)[0]


def test_the_form_sent_again_makes_no_second_token(ann_client):
    """A reload of the page that showed a new token sends its POST again: it must not make a
    second live token nobody saw (each reload did)."""
    form = {"name": "ERP", "can_update": "on"}
    form["form_key"] = _form_key(ann_client.get("/settings/api-tokens/").content.decode())
    first = ann_client.post("/settings/api-tokens/", form)
    assert first.status_code == 200
    (token,) = ApiToken.objects.all()
    assert first.context["created_plain"].startswith(token.prefix)

    again = ann_client.post("/settings/api-tokens/", form)  # the browser's reload
    assert again.status_code == 409
    assert ApiToken.objects.get() == token  # still that one token, and no other
    body = again.content.decode()
    assert again.context["created_plain"] is None and 'id="token-value"' not in body
    assert "Nothing new was made" in body and f"{token.prefix}…" in body

    # The page's own form (a new key) makes the next token, as asked.
    form["form_key"] = _form_key(body)
    assert ann_client.post("/settings/api-tokens/", form).status_code == 200
    assert ApiToken.objects.count() == 2


def test_a_form_key_that_cannot_be_one_is_refused(ann_client):
    response = ann_client.post("/settings/api-tokens/", {"name": "ERP", "form_key": "k\x00"})
    assert response.status_code == 400
    assert "reload the page" in response.content.decode()
    assert not ApiToken.objects.exists()
