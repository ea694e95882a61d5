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
