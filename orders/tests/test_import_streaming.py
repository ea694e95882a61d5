"""`import_orders` reads its file a document at a time: memory holds one order, not the file.

The readers are checked on their own (no database), on files far larger than what they may
hold, with the decoder's chunk made small so that every document crosses a chunk's end; the
command, on a CSV whose rows of an order lie apart (grouped whole instead).
"""

import io
import json
import tracemalloc

import pytest

from orders.intake import json_stream
from orders.intake.csv import (
    CSV_COLUMNS,
    IntakeCsvError,
    RowsApart,
    csv_documents_streamed,
    payloads_from_csv,
)
from orders.intake.json_stream import IntakeJsonError, json_documents
from orders.models import Order
from orders.tests.test_commands import csv_row, csv_text, no_orders, write
from testsupport.commands import command_refused, command_run
from testsupport.factories import intake_payload


def _peak_while(iterator) -> tuple[int, int]:
    """(documents read, peak bytes traced) while draining the iterator."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in iterator)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak


def _big_json(path, count: int) -> None:
    document = json.dumps(intake_payload(reference="R"), indent=1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[\n")
        for i in range(count):
            handle.write(("," if i else "") + document.replace('"R"', f'"R-{i}"') + "\n")
        handle.write("]\n")


def test_a_json_list_is_read_in_memory_bounded_by_a_document_not_by_the_file(tmp_path):
    path = tmp_path / "big.json"
    _big_json(path, 20_000)
    size = path.stat().st_size
    assert size > 5_000_000
    with open(path, encoding="utf-8") as handle:
        count, peak = _peak_while(json_documents(handle))
    assert count == 20_000
    assert peak < 1_000_000, f"peak {peak} bytes for a file of {size}"


def test_a_csv_of_orders_together_is_read_in_memory_bounded_by_an_order(tmp_path):
    path = tmp_path / "big.csv"
    count = 20_000
    rows = [csv_row(f"C-{i}", sku, 1) for i in range(count) for sku in ("ACME-001", "ACME-002")]
    path.write_text(csv_text(rows), encoding="utf-8")
    del rows
    size = path.stat().st_size
    assert size > 3_000_000
    with open(path, encoding="utf-8", newline="") as handle:
        read, peak = _peak_while(csv_documents_streamed(handle))
    assert read == count
    # What grows is the set of references seen (to find one met again): about a hundred
    # bytes an order, where the grouping reader holds every order whole.
    assert peak < 1_000_000 + 150 * count, f"peak {peak} bytes for a file of {size}"

    def grouped():
        with open(path, encoding="utf-8", newline="") as handle:
            yield from payloads_from_csv(handle.read())

    _, grouped_peak = _peak_while(grouped())
    assert peak * 5 < grouped_peak, (peak, grouped_peak)


@pytest.mark.parametrize("chunk", [1, 3, 7, 64 * 1024])
def test_every_document_comes_out_whole_wherever_a_chunk_ends(monkeypatch, chunk):
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    documents = [
        {"reference": "A-1", "lines": [{"sku": "X", "quantity": 12345}]},
        {"reference": "A, [2]", "note": '} ] " \\u00e9 ,'},
        [1, 2],
        123456789,
        -0.5e3,
        -500.25,
        1.5e-7,
        "text",
        True,
        None,
    ]
    text = " \r\n [ " + " ,\n\t".join(json.dumps(d) for d in documents) + " ] \n"
    assert list(json_documents(io.StringIO(text))) == documents
    assert list(json_documents(io.StringIO("[]"))) == []
    assert list(json_documents(io.StringIO(" [ \n ] "))) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "file: not valid JSON (Expecting value at line 1)."),
        ("   \n", "file: not valid JSON (Expecting value at line 2)."),
        ('{"reference": "R-1"}', "file: the JSON must be a list of order documents."),
        ("7", "file: the JSON must be a list of order documents."),
        ("{not json", "file: not valid JSON (Expecting property name enclosed in double quotes"),
        (
            '[{"a": 1},\n{"a": 2}\n{"a": 3}]',
            "file: not valid JSON (Expecting ',' delimiter at line 3).",
        ),
        ('[{"a": 1},\n\n{"a": }]', "file: not valid JSON (Expecting value at line 3)."),
        ('[{"a": 1},]', "file: not valid JSON (Expecting value at line 1)."),
        ('[{"a": 1}', "file: not valid JSON (Expecting ']' at line 1)."),
        ("[", "file: not valid JSON (Expecting value at line 1)."),
        ('[{"a": 1}] [', "file: not valid JSON (Extra data at line 1)."),
        ("[" + "1" * 5000 + "]", "file: not valid JSON (Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000, "file: not valid JSON (nested too deeply)."),
    ],
)
def test_a_file_that_is_not_one_json_list_is_named_where(monkeypatch, text, message):
    monkeypatch.setattr(json_stream, "CHUNK", 5)
    with pytest.raises(IntakeJsonError) as info:
        list(json_documents(io.StringIO(text)))
    assert str(info.value).startswith(message), str(info.value)


def test_a_document_longer_than_the_limit_is_refused_without_reading_the_rest(monkeypatch):
    monkeypatch.setattr(json_stream, "MAX_DOCUMENT_CHARS", 1000)
    text = '[{"a": 1}, {"note": "' + "x" * 5000 + '"}, {"a": 3}]'
    documents = json_documents(io.StringIO(text))
    assert next(documents) == {"a": 1}
    with pytest.raises(IntakeJsonError, match=r"^order 2: longer than"):
        next(documents)


def test_csv_rows_of_a_reference_apart_are_said_to_the_streamed_reader():
    text = csv_text(
        [csv_row("C-1", "ACME-001", 1), csv_row("C-2", "ACME-001", 1), csv_row("C-1", "X", 2)]
    )
    documents = csv_documents_streamed(io.StringIO(text))
    assert next(documents).payload["reference"] == "C-1"
    with pytest.raises(RowsApart):
        list(documents)
    # Grouped whole, the same file is two orders.
    grouped = payloads_from_csv(text)
    assert [(d["reference"], len(d["lines"])) for d in grouped] == [("C-1", 2), ("C-2", 1)]


def test_the_streamed_csv_reader_makes_the_same_documents_as_the_grouping_one():
    rows = [
        csv_row("C-1", "ACME-001", 1, placed_at="2026-10-02T08:00:00+01:00"),
        csv_row("C-1", "ACME-002", 3, customer_name=""),  # blank: as above
        csv_row("C-2", "ACME-003", 1, ship_city="York"),
    ]
    text = csv_text(rows)
    streamed = [d.payload for d in csv_documents_streamed(io.StringIO(text))]
    assert streamed == payloads_from_csv(text)
    assert streamed[0]["customer"]["name"] == "Ann Lee"  # from line 2, blank on line 3
    assert CSV_COLUMNS[0] == "reference"


def test_the_streamed_csv_reader_refuses_an_order_whose_rows_disagree():
    text = csv_text(
        [csv_row("C-1", "ACME-001", 1), csv_row("C-1", "ACME-002", 1, ship_city="York")]
    )
    with pytest.raises(IntakeCsvError, match="line 3: reference 'C-1' has ship_city 'York'"):
        list(csv_documents_streamed(io.StringIO(text)))


def test_import_orders_takes_a_csv_whose_rows_of_an_order_lie_apart(
    acme, retailer, tmp_path, monkeypatch
):
    text = csv_text(
        [
            csv_row("C-1", "ACME-001", 1),
            csv_row("C-2", "ACME-003", 1),
            csv_row("C-1", "ACME-002", 3),
        ]
    )
    from orders.management.commands import import_orders

    monkeypatch.setattr(import_orders, "CHECK_PROGRESS_EVERY", 2)
    out, err = command_run("import_orders", "shopco", write(tmp_path, "apart.csv", text))
    assert "2 orders imported, 0 already present" in out and "2/2 (100%)" in err
    assert err.index("checked 2 orders") < err.index("1/2 (50%)")
    order = Order.objects.get(retailer_reference="C-1")
    assert list(order.lines.values_list("sku", "quantity")) == [("ACME-001", 1), ("ACME-002", 3)]
    assert Order.objects.count() == 2


def test_import_orders_refuses_rows_apart_that_disagree_and_writes_nothing(
    acme, retailer, tmp_path
):
    text = csv_text(
        [
            csv_row("C-1", "ACME-001", 1),
            csv_row("C-2", "ACME-003", 1),
            csv_row("C-1", "ACME-002", 3, ship_city="York"),
        ]
    )
    message = command_refused("import_orders", "shopco", write(tmp_path, "apart.csv", text))
    assert message.startswith("line 4: reference 'C-1' has ship_city 'York'"), message
    no_orders()


def test_import_orders_names_the_file_that_is_not_utf8_and_writes_nothing(acme, retailer, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps([intake_payload(reference="R-1")]).encode() + b"\xff")
    message = command_refused("import_orders", "shopco", str(path))
    assert message.startswith(f"file: {path} is not UTF-8 text"), message
    no_orders()


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_apart_by_another_separator_is_refused_saying_so(acme, retailer, tmp_path, separator):
    text = csv_text([csv_row("C-1", "ACME-001", 1)]).replace(",", separator)
    message = command_refused("import_orders", "shopco", write(tmp_path, "semi.csv", text))
    assert message.startswith("file: CSV header lacks column(s) reference, placed_at"), message
    assert f"the file's cells are apart by {separator!r}, not by commas" in message
    no_orders()
