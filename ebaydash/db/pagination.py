"""Opaque page cursors: the keyset position of a row, url-safe, signed and validated.

A cursor carries the sort key of the boundary row (e.g. its order date and id), the sort it belongs
to, the direction, the account and a fingerprint of the filters, signed with HMAC-SHA256 under the
server's key (:attr:`ebaydash.settings.Settings.cursor_key`). So a cursor can only continue the
listing, of the account, that produced it, and nobody without the key can make or edit one.
Anything else (truncated, edited, signed with another key, from another account or filter) raises
:class:`InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from ebaydash.errors import InvalidCursor

Direction = Literal["next", "prev"]
_MAC_BYTES = 16  # HMAC-SHA256 truncated to 128 bits (RFC 2104 section 5 allows truncation)
_MAX_CURSOR_CHARS = 512


_MAX_ID = 2**63 - 1  # BIGINT: a larger id would be a database error, not a page


@dataclass(frozen=True)
class Cursor:
    sort: str
    direction: Direction
    values: tuple[Any, ...]  # the boundary row's sort key, ending with its id
    fingerprint: str
    offset: int = 0  # rows before the page this cursor leads to (for "rows 51–75 of 1,234")
    account_id: int = 0  # the account whose listing it continues


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"ebaydash-cursor\0" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(cursor: Cursor, *, key: bytes) -> str:
    payload = json.dumps(
        [
            cursor.sort,
            cursor.direction,
            list(cursor.values),
            cursor.fingerprint,
            cursor.offset,
            cursor.account_id,
        ],
        separators=(",", ":"),
    ).encode()
    raw = _mac(key, payload) + payload
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_INVALID = "This page link is no longer valid (it was changed or cut short). Start again from page 1."
_FOREIGN = "This page link belongs to another listing. Start again from page 1."


def decode_cursor(token: str, *, key: bytes, expected_sort: str, fingerprint: str, account_id: int) -> Cursor:
    """The cursor ``token`` stands for, after checking its signature under ``key`` and that it
    continues the listing of ``account_id`` with this sort and filter ``fingerprint``.
    Raises :class:`InvalidCursor` otherwise (before anything is read)."""
    if not isinstance(token, str) or not token or len(token) > _MAX_CURSOR_CHARS:
        raise InvalidCursor(_INVALID)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor(_INVALID) from None
    check, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(check) != _MAC_BYTES or not hmac.compare_digest(check, _mac(key, payload)):
        raise InvalidCursor(_INVALID)
    try:
        sort, direction, values, cursor_fingerprint, offset, cursor_account = json.loads(payload)
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
    if cursor_account != account_id:
        raise InvalidCursor(_FOREIGN)
    if cursor_fingerprint != fingerprint:
        raise InvalidCursor("The filters changed since this page was shown. Start again from page 1.")
    return Cursor(sort, direction, tuple(values), fingerprint, offset, account_id)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_ID


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_ID


def fingerprint(parts: dict[str, Any]) -> str:
    payload = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest()
