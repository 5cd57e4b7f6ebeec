"""Splitting a decoded request body into message items (pure functions).

Every splitter returns `Split`: the accepted items with their 0-based request index and the
rejected ones with a reason. Empty items (blank NDJSON lines, empty delimiter segments) are
skipped and do not count towards the index.

A body is counted before it is split: a request over the item limit costs a count in C,
never the materialising of millions of pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import msgspec

UTF8_BOM = b"\xef\xbb\xbf"
RAW_FAILURE_BYTES = 1024
NESTED_TOO_DEEPLY = "not valid JSON: nested too deeply"


class TooManyItems(ValueError):
    """The body holds more items than one request may carry."""


class NotAnArray(ValueError):
    """`split=array` was asked for, but the body is not a JSON array."""


@dataclass(slots=True)  # not frozen: thousands are made per request, and frozen costs
class Item:
    index: int
    body: bytes
    event_type: str | None = None


@dataclass(frozen=True)
class Failure:
    index: int
    reason: str
    raw: bytes


@dataclass
class Split:
    items: list[Item] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items) + len(self.failures)


def _oversized(body: bytes, max_item_bytes: int) -> str | None:
    if len(body) > max_item_bytes:
        return f"item is {len(body)} bytes, over the limit of {max_item_bytes}"
    return None


def _collect(segments: list[bytes], max_item_bytes: int, max_items: int, check_json: bool) -> Split:
    split = Split()
    decoder = msgspec.json.Decoder(msgspec.Raw)  # validates without building objects
    index = 0
    for segment in segments:
        if not segment.strip():
            continue
        if index >= max_items:
            raise TooManyItems(f"more than {max_items} items in one request")
        reason = _oversized(segment, max_item_bytes)
        if reason is None and check_json:
            reason = _json_error(decoder, segment)
        if reason is None:
            split.items.append(Item(index, segment))
        else:
            split.failures.append(Failure(index, reason, segment[:RAW_FAILURE_BYTES]))
        index += 1
    return split


COUNT_SLICE = 64 * 1024


def _json_error(decoder: msgspec.json.Decoder[msgspec.Raw], line: bytes) -> str | None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 at byte {exc.start}"
    try:
        decoder.decode(line)
    except msgspec.DecodeError as exc:
        return f"not valid JSON: {exc}"
    except RecursionError:
        return NESTED_TOO_DEEPLY
    return None


def _check_segments(body: bytes, separator: bytes, max_items: int) -> None:
    """At most one empty segment per item (a blank line after each, a trailing newline).

    Counted COUNT_SLICE bytes at a time, stopping once past the limit: a body of nothing
    but separators is refused after its first slice. A separator across two slices is
    not counted, which only lets the split (which counts items too) decide."""
    limit = 2 * max_items + 1
    segments = 1
    for start in range(0, len(body), COUNT_SLICE):
        segments += body.count(separator, start, start + COUNT_SLICE)
        if segments > limit:
            raise TooManyItems(
                f"more than {limit} segments in one request (at most {max_items} items)"
            )


def split_ndjson(body: bytes, *, max_item_bytes: int, max_items: int) -> Split:
    """One item per non-empty line; each line must be a JSON document (CRLF and a BOM allowed)."""
    body = body.removeprefix(UTF8_BOM)
    _check_segments(body, b"\n", max_items)
    lines = [line.removesuffix(b"\r") for line in body.split(b"\n")]
    return _collect(lines, max_item_bytes, max_items, check_json=True)


def split_delimited(body: bytes, delimiter: bytes, *, max_item_bytes: int, max_items: int) -> Split:
    """One item per non-empty segment between delimiters."""
    _check_segments(body, delimiter, max_items)
    return _collect(body.split(delimiter), max_item_bytes, max_items, check_json=False)


@cache
def _array_prefix(max_items: int) -> msgspec.json.Decoder[msgspec.Struct]:
    """A decoder of a JSON array's first `max_items + 1` elements, each as its raw bytes.

    The elements after them are checked as JSON and skipped, never built (an array-like
    struct ignores extra trailing values): an array of millions of elements costs a
    parse, not millions of objects.
    """
    fields = [
        (f"e{i}", msgspec.Raw | msgspec.UnsetType, msgspec.UNSET) for i in range(max_items + 1)
    ]
    return msgspec.json.Decoder(msgspec.defstruct("ArrayPrefix", fields, array_like=True))


def split_array(body: bytes, *, max_item_bytes: int, max_items: int) -> Split:
    """One item per element of a JSON array, each kept as its exact bytes."""
    try:
        prefix = _array_prefix(max_items).decode(body.removeprefix(UTF8_BOM))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise NotAnArray(f"split=array needs a JSON array body: {exc}") from exc
    except RecursionError as exc:  # elements cannot be told apart without decoding them
        raise NotAnArray(f"split=array needs a JSON array body: {NESTED_TOO_DEEPLY}") from exc
    elements = [e for e in msgspec.structs.astuple(prefix) if e is not msgspec.UNSET]
    if len(elements) > max_items:
        raise TooManyItems(f"more than {max_items} items in one request")
    split = Split()
    for index, element in enumerate(elements):
        raw = bytes(element)
        reason = _oversized(raw, max_item_bytes)
        if reason is None:
            split.items.append(Item(index, raw))
        else:
            split.failures.append(Failure(index, reason, raw[:RAW_FAILURE_BYTES]))
    return split
