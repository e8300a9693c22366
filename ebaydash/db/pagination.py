"""Opaque page cursors: the keyset position of a row, url-safe, checksummed and validated.

A cursor carries the sort key of the boundary row (e.g. its order date and id), the sort it belongs
to, the direction, and a fingerprint of the filters, so a cursor can only continue the listing that
produced it. Anything else (truncated, edited, from another filter) raises :class:`InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from ebaydash.errors import InvalidCursor

Direction = Literal["next", "prev"]
_CHECK_BYTES = 6
_MAX_CURSOR_CHARS = 512


_MAX_ID = 2**63 - 1  # BIGINT: a larger id would be a database error, not a page


@dataclass(frozen=True)
class Cursor:
    sort: str
    direction: Direction
    values: tuple[Any, ...]  # the boundary row's sort key, ending with its id
    fingerprint: str
    offset: int = 0  # rows before the page this cursor leads to (for "rows 51–75 of 1,234")


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CHECK_BYTES, person=b"ebaydash-cur").digest()


def encode_cursor(cursor: Cursor) -> str:
    payload = json.dumps(
        [cursor.sort, cursor.direction, list(cursor.values), cursor.fingerprint, cursor.offset],
        separators=(",", ":"),
    ).encode()
    raw = _checksum(payload) + payload
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_INVALID = "This page link is no longer valid (it was changed or cut short). Start again from page 1."


def decode_cursor(token: str, *, expected_sort: str, fingerprint: str) -> Cursor:
    if not isinstance(token, str) or not token or len(token) > _MAX_CURSOR_CHARS:
        raise InvalidCursor(_INVALID)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor(_INVALID) from None
    check, payload = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
    if len(check) != _CHECK_BYTES or check != _checksum(payload):
        raise InvalidCursor(_INVALID)
    try:
        sort, direction, values, cursor_fingerprint, offset = json.loads(payload)
    except (ValueError, TypeError):
        raise InvalidCursor(_INVALID) from None
    if (
        sort != expected_sort
        or direction not in ("next", "prev")
        or not isinstance(values, list)
        or len(values) != 2
        or not _is_id(values[-1])
        or not isinstance(values[0], str)
        or not _is_count(offset)
    ):
        raise InvalidCursor(_INVALID)
    if cursor_fingerprint != fingerprint:
        raise InvalidCursor("The filters changed since this page was shown. Start again from page 1.")
    return Cursor(sort, direction, tuple(values), fingerprint, offset)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_ID


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_ID


def fingerprint(parts: dict[str, Any]) -> str:
    payload = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest()
