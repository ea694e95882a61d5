"""The formula neutraliser every CSV we produce uses (common/csv.py)."""

import pytest

from common.csv import csv_cell_neutralise

# (value, what the cell holds after neutralising)
CASES = [
    ("=1+1", "'=1+1"),
    ("+1", "+1"),  # number-like: arithmetic at worst, never a function (the SFTP rule)
    ("-1", "-1"),
    ("+SUM(1)", "'+SUM(1)"),
    ("-cmd", "'-cmd"),
    ("@x", "'@x"),
    ("\tx", "'\tx"),
    ("\t=1", "'\t=1"),
    ("\rx", "'\rx"),
    ("\r=1", "'\r=1"),
    ("  =1+1", "'  =1+1"),
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width =
    ("\uff0bSUM(1)", "'\uff0bSUM(1)"),  # full-width +
    ("\uff0dcmd", "'\uff0dcmd"),  # full-width -
    ("\uff20x", "'\uff20x"),  # full-width @
    ("-", "'-"),
    ("+44 20 7946 0000", "+44 20 7946 0000"),
    ("-12.50", "-12.50"),
    ("PO-10001", "PO-10001"),
    ("Ann = Lee", "Ann = Lee"),
    ("ann@example.com", "ann@example.com"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_csv_cell_neutralise(value, expected):
    assert csv_cell_neutralise(value) == expected


def test_non_text_values_become_text():
    assert csv_cell_neutralise(None) == ""
    assert csv_cell_neutralise(3) == "3"
