"""EDI X12 850 (purchase order, version 004010): one interchange per order file.

Fixed structure, so there is nothing to configure but the interchange IDs, which are the
supplier's (Destination.x12_sender_id / x12_receiver_id; blank: the platform's default and the
supplier's slug). Separators: `*` between elements, `~` after a segment, `>` between
components; a value holding one of them has it replaced by a space (X12 has no escaping).
Control numbers come from the order's id, and dates from `placed_at`, so the same order renders
the same interchange.
"""

from __future__ import annotations

from datetime import datetime

DEFAULT_SENDER = "DROPSHIPHUB"
_SEPARATORS = str.maketrans({"*": " ", "~": " ", ">": " ", "\r": " ", "\n": " "})


def _clean(value) -> str:
    return ("" if value is None else str(value)).translate(_SEPARATORS).strip()


def _segment(*elements) -> str:
    parts = [_clean(e) for e in elements]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return "*".join(parts) + "~"


def x12_850(doc: dict, *, sender_id: str, receiver_id: str, order) -> bytes:
    sender = (sender_id or DEFAULT_SENDER)[:15]
    receiver = (receiver_id or doc["supplier"].upper())[:15]
    placed = datetime.fromisoformat(doc["placed_at"])
    control = f"{(order.pk or 0) % 1_000_000_000:09d}"
    group = str(int(control))
    address = doc["shipping_address"]
    body = [
        _segment("ST", "850", "0001"),
        _segment("BEG", "00", "DS", doc["number"], "", placed.strftime("%Y%m%d")),
        _segment("CUR", "BY", doc["currency"]),
        _segment("REF", "CO", doc["retailer"]["reference"]),
        _segment("N1", "ST", address["name"]),
        _segment("N3", address["line1"], address["line2"]),
        _segment("N4", address["city"], address["region"], address["postcode"], address["country"]),
    ]
    for line in doc["lines"]:
        body.append(
            _segment(
                "PO1",
                line["line"],
                line["quantity"],
                "EA",
                line["unit_price"],
                "",
                "VP",
                line["sku"],
            )
        )
        body.append(_segment("PID", "F", "", "", "", line["name"]))
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
    return "\n".join(segments).encode("utf-8") + b"\n"
