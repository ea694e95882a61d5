"""EDI X12 850 (purchase order, version 004010): one interchange per order file.

Fixed structure, so there is nothing to configure but the interchange IDs, which are the
supplier's (Destination.x12_sender_id / x12_receiver_id; blank: the platform's default and the
supplier's slug). Separators: `*` between elements, `~` after a segment, `>` between
components; a value holding one of them has it replaced by a space (X12 has no escaping).
Control numbers come from the order's id, and dates from `placed_at`, so the same order renders
the same interchange.

Each element is held to its 004010 maximum length, as translators check it (a longer one gets
the interchange rejected). Descriptive text (the ship-to name, address lines, city, region,
product name) is cut at its maximum, as EDI tools do with free text; an identifier (order
number, retailer reference, postcode, SKU, ...) is never cut, since a cut one names something
else: `X12ValueTooLong` says which element and how long, and the delivery fails with it.
A region that is not a two-letter code (N4-02 is one) goes in N4-05/06 (`SP`, the text).

The interchange is ASCII, as 004010's basic and extended character sets are (translators
reject other bytes, and count an element's length in characters of those sets). Free text is
transliterated (anyascii: "José Ñúñez, Łódź" is "Jose Nunez, Lodz", "北京" "BeiJing") and then
cut; an identifier is only normalised (NFKC: full-width "１２３" is "123") and, if it still
holds a character outside ASCII, refused like a long one (`X12ValueNotAscii`), since a
transliterated SKU or reference names something else. Control characters become spaces.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from anyascii import anyascii

DEFAULT_SENDER = "DROPSHIPHUB"
# The separators, and every control character (C0 and DEL), become spaces.
_SEPARATORS = str.maketrans(
    {**{c: " " for c in range(32)}, 127: " ", ord("*"): " ", ord("~"): " ", ord(">"): " "}
)


def _clean(value) -> str:
    return ("" if value is None else str(value)).translate(_SEPARATORS).strip()


class X12ValueRefused(ValueError):
    """A value the 850 cannot carry as it is: the order's delivery fails with the reason."""


class X12ValueTooLong(X12ValueRefused):
    """An identifier longer than its X12 element allows: it cannot be cut, so not sent."""


class X12ValueNotAscii(X12ValueRefused):
    """An identifier with a character X12 cannot carry: not transliterated, so not sent."""


def _ascii(value) -> str:
    """Free text in ASCII (transliterated), separators and controls made spaces."""
    text = "" if value is None else str(value)
    return _clean(text if text.isascii() else anyascii(text))


def _text(value, maximum: int) -> str:
    """Free text, transliterated to ASCII and cut to the element's maximum."""
    return _ascii(value)[:maximum].rstrip()


def _ident(value, maximum: int, element: str) -> str:
    """An identifier, refused (never cut, never transliterated) when over the element's
    maximum or outside ASCII after NFKC normalisation."""
    text = _clean(value)
    if not text.isascii():
        text = _clean(unicodedata.normalize("NFKC", text))
        if not text.isascii():
            raise X12ValueNotAscii(
                f"X12 850 element {element} holds ASCII only; {text!r} has other "
                "characters, and an identifier is not transliterated."
            )
    if len(text) > maximum:
        raise X12ValueTooLong(
            f"X12 850 element {element} holds at most {maximum} characters; "
            f"{text!r} has {len(text)}, and an identifier is not cut."
        )
    return text


def _region(value) -> tuple[str, str, str]:
    """(N4-02, N4-05, N4-06): a two-letter code, or the region's text as a location."""
    text = _ascii(value)
    if len(text) <= 2:
        return text, "", ""
    return "", "SP", text[:30].rstrip()


def _segment(*elements) -> str:
    parts = [_clean(e) for e in elements]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return "*".join(parts) + "~"


def x12_850(doc: dict, *, sender_id: str, receiver_id: str, order) -> bytes:
    sender = _ident(sender_id or DEFAULT_SENDER, 99, "ISA06 (sender ID)")[:15]
    receiver = _ident(receiver_id or doc["supplier"].upper(), 99, "ISA08 (receiver ID)")[:15]
    placed = datetime.fromisoformat(doc["placed_at"])
    control = f"{(order.pk or 0) % 1_000_000_000:09d}"
    group = str(int(control))
    address = doc["shipping_address"]
    region, location_qualifier, location = _region(address["region"])
    body = [
        _segment("ST", "850", "0001"),
        _segment(
            "BEG",
            "00",
            "DS",
            _ident(doc["number"], 22, "BEG03 (order number)"),
            "",
            placed.strftime("%Y%m%d"),
        ),
        _segment("CUR", "BY", _ident(doc["currency"], 3, "CUR02 (currency)")),
        _segment(
            "REF", "CO", _ident(doc["retailer"]["reference"], 30, "REF02 (retailer reference)")
        ),
        _segment("N1", "ST", _text(address["name"], 60)),
        _segment("N3", _text(address["line1"], 55), _text(address["line2"], 55)),
        _segment(
            "N4",
            _text(address["city"], 30),
            region,
            _ident(address["postcode"], 15, "N4-03 (postcode)"),
            _ident(address["country"], 3, "N4-04 (country)"),
            location_qualifier,
            location,
        ),
    ]
    for line in doc["lines"]:
        body.append(
            _segment(
                "PO1",
                _ident(line["line"], 20, "PO1-01 (line)"),
                _ident(line["quantity"], 15, "PO1-02 (quantity)"),
                "EA",
                _ident(line["unit_price"], 17, "PO1-04 (unit price)"),
                "",
                "VP",
                _ident(line["sku"], 48, "PO1-07 (SKU)"),
            )
        )
        body.append(_segment("PID", "F", "", "", "", _text(line["name"], 80)))
    body.append(_segment("CTT", len(doc["lines"])))
    body.append(_segment("SE", len(body) + 1, "0001"))
    isa = (
        "ISA*00*" + " " * 10 + "*00*" + " " * 10 + f"*ZZ*{_clean(sender).ljust(15)}"
        f"*ZZ*{_clean(receiver).ljust(15)}*{placed:%y%m%d}*{placed:%H%M}*U*00401*{control}"
        "*0*P*>~"
    )
    segments = [
        isa,
        _segment(
            "GS",
            "PO",
            sender,
            receiver,
            placed.strftime("%Y%m%d"),
            placed.strftime("%H%M"),
            group,
            "X",
            "004010",
        ),
        *body,
        _segment("GE", "1", group),
        _segment("IEA", "1", control),
    ]
    return "\n".join(segments).encode("ascii") + b"\n"
