"""The documents of a JSON list, read one at a time from a file.

`import_orders` reads a retailer's backlog, which can be larger than memory should hold: the
list is decoded element by element with the standard decoder's `raw_decode`, holding the
element being read and one chunk of the file, never the whole list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

CHUNK = 64 * 1024
# One document (an order) at most this long: the intake API takes a body of a few MB; a
# document longer than this in a file is refused rather than read into memory whole.
MAX_DOCUMENT_CHARS = 8 * 1024 * 1024
_WHITESPACE = " \t\n\r"
_NUMBER_GOES_ON = "0123456789.eE+-"


class IntakeJsonError(ValueError):
    """The file is not a JSON list of documents; the message is one line naming where."""


class _Reader:
    """A text stream's unread part: `text[pos:]`, with the lines before it counted."""

    def __init__(self, stream):
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.line = 1  # the file's line at text[0]
        self.eof = False

    def more(self) -> bool:
        """Read one more chunk, dropping what is consumed; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.line += self.text.count("\n", 0, self.pos)
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end), not consumed."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def error(self, message: str, pos: int | None = None) -> IntakeJsonError:
        pos = self.pos if pos is None else pos
        line = self.line + self.text.count("\n", 0, pos)
        return IntakeJsonError(f"file: not valid JSON ({message} at line {line}).")


def _too_long(number: int) -> IntakeJsonError:
    return IntakeJsonError(
        f"order {number}: longer than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MB of JSON."
    )


def _decode_one(reader: _Reader, decoder: json.JSONDecoder, number: int):
    """The value at the reader's position, reading more of the file until it is whole."""
    while True:
        try:
            value, end = decoder.raw_decode(reader.text, reader.pos)
        except json.JSONDecodeError as exc:
            if len(reader.text) - reader.pos > MAX_DOCUMENT_CHARS:
                raise _too_long(number) from None
            if reader.more():
                continue
            raise reader.error(exc.msg, exc.pos) from None
        except ValueError as exc:  # a number past Python's digit limit, say
            raise IntakeJsonError(f"file: not valid JSON ({exc}).") from None
        except RecursionError:
            raise IntakeJsonError("file: not valid JSON (nested too deeply).") from None
        if end - reader.pos > MAX_DOCUMENT_CHARS:
            raise _too_long(number)
        # A number read up to where the text read so far ends, or up to a character a number
        # goes on with ("1" of "1.5", "-500" of "-500.0"), may go on in the next chunk.
        # Any other value is whole once decoded: it ends with its own closing character.
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (end == len(reader.text) or reader.text[end] in _NUMBER_GOES_ON)
            and len(reader.text) - reader.pos <= MAX_DOCUMENT_CHARS
            and reader.more()
        ):
            continue
        reader.pos = end
        return value


def json_documents(stream) -> Iterator:
    """Each element of the JSON list in `stream`, in order; IntakeJsonError if the file is
    not one JSON list (raised when the reading reaches the fault)."""
    reader = _Reader(stream)
    decoder = json.JSONDecoder()
    if reader.peek() != "[":
        if reader.peek() == "":
            raise reader.error("Expecting value")
        _decode_one(reader, decoder, 1)  # not valid JSON: said so; else not a list
        raise IntakeJsonError("file: the JSON must be a list of order documents.")
    reader.pos += 1
    if reader.peek() == "]":
        reader.pos += 1
    else:
        number = 0
        while True:
            if reader.peek() == "":
                raise reader.error("Expecting value")
            number += 1
            yield _decode_one(reader, decoder, number)
            following = reader.peek()
            if following == ",":
                reader.pos += 1
                continue
            if following == "]":
                reader.pos += 1
                break
            raise reader.error("Expecting ',' delimiter" if following else "Expecting ']'")
    if reader.peek() != "":
        raise reader.error("Extra data")
