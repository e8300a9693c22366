"""Text values that can be stored: no NUL or other control characters, no lone surrogates."""

from __future__ import annotations

import re
from typing import Any

from ebaydash.importers import values
from ebaydash.importers.values import ValueProblem

# C0 controls but tab/newline/carriage return, DEL, and UTF-16 surrogates (JSON's "\ud800" escapes
# decode to them; no database encoding can store one alone)
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def checked_text(value: Any, *, limit: int, what: str, required: bool = False) -> str | None:
    """``value`` stripped, or ``None`` when empty; raises :class:`ValueProblem` when it is not
    text, is longer than ``limit`` characters or holds a character no database can store."""
    text = values.text_value(value, limit=limit, what=what, required=required)
    if text is not None and (bad := _UNSTORABLE.search(text)) is not None:
        code = ord(bad.group())
        kind = "a lone UTF-16 surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
        raise ValueProblem(f"the {what} contains {kind} (U+{code:04X}), which cannot be stored")
    return text
