"""The summary's subject is one plain line whatever the retailer is called."""

from datetime import date

import pytest

from statements.emails import summary_email_parts
from statements.selectors import retailer_month_figures
from testsupport.factories import make_retailer

pytestmark = pytest.mark.django_db


def test_a_retailer_name_with_markup_and_a_newline_stays_one_literal_line():
    retailer, _key = make_retailer(slug="odd")
    retailer.name = "Shop <b>&\"'\nCo"
    retailer.save(update_fields=["name"])
    figures = retailer_month_figures(retailer=retailer, month=date(2026, 7, 1))

    subject, _text, html = summary_email_parts(figures=figures, retailer_name=retailer.name)

    assert "\n" not in subject and "\r" not in subject
    assert subject.endswith("Shop <b>&\"' Co")
    assert "Shop &lt;b&gt;&amp;" in html and "<b>&" not in html  # the body still escapes
