"""Text from files shown and exported as text: never Markdown, HTML or a spreadsheet formula.

Buyer names, emails, titles, SKUs, order ids, account names, seller ids and file names come from
files a seller imports (or from a shared link); whoever wrote the file chose them. Streamlit
renders most strings as Markdown (titles, captions, messages, metric labels and values) with its
own extensions (``:red[…]`` colours, ``:material/…:`` icons, emoji shortcodes, ``$…$`` maths) and
GitHub's autolinks (bare ``www.``/``http://`` addresses and emails become links), and it loads
``![](http://…)`` images from anywhere. A spreadsheet runs a cell that starts with ``=``, ``+``,
``-`` or ``@`` (and some also after a tab or carriage return) as a formula.

:func:`markdown_literal` writes a string so that Markdown shows it character for character;
:func:`spreadsheet_safe` (OWASP's "CSV injection" advice) prefixes a formula-like cell with ``'``.
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_STARTS", "markdown_literal", "spreadsheet_safe"]

# CommonMark: a numeric character reference stands for its character as *text*, never as markup
# ("&#42;foo&#42;" shows "*foo*"). Backslash escapes would do the same for Markdown, but GitHub's
# autolinks still link "http\:\/\/…" (tried in Chromium), so references are used throughout.
# Escaped everywhere: every character that opens an inline construct (emphasis, strikethrough,
# code, links and images, HTML, entities, escapes, maths) and "@" (email autolinks). ":" only
# before a non-space, where it could open a Streamlit colour, icon or emoji, or an "http://"
# autolink; "." only in "www." (the other autolink). Block constructs (headings, lists, quotes,
# setext lines) can only start a line, and the text has one line: its first character is escaped
# when it could start one. Everything else (quotes, brackets, commas) stays readable as it is.
_ALWAYS = {ord(c): f"&#{ord(c)};" for c in "\\`*_~[]<>&$@"}
_INLINE = re.compile(r":(?=\S)|(?i:(?<=www)\.)")
_BLOCK_START = re.compile(r"^( ?)([#>+=|-]|\d+(?=[.)]))")
_SPACES = re.compile(" {2,}")
# GitHub's autolinks are found in the *parsed* text (references already decoded), so escaping
# cannot stop them: a word joiner (U+2060, invisible, no width) before "@" and before "http:",
# "https:" or "www." breaks their patterns (an email needs a word character right before "@", a
# web address a space or punctuation before it), and the text reads the same.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?=&#64;|(?:https?&#58;|www&#46;))")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def markdown_literal(text: object) -> str:
    """``text`` (``str()`` of it) for a Markdown string, shown exactly as it reads.

    Web addresses and emails get an invisible word joiner (:data:`WORD_JOINER`) so they are not
    made links. Runs of whitespace, line breaks and other control characters included, become one space (kept
    at either end, so pieces can be joined): the text is one inline run (a line break could start a
    heading or a list, four leading spaces a code block), as an HTML page would show it anyway.
    """
    spaced = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in str(text))
    escaped = _INLINE.sub(_reference, _SPACES.sub(" ", spaced).translate(_ALWAYS))
    escaped = _AUTOLINK.sub(WORD_JOINER, escaped)
    return _BLOCK_START.sub(lambda m: m[1] + "".join(f"&#{ord(c)};" for c in m[2]), escaped, count=1)


def _reference(match: re.Match[str]) -> str:
    return f"&#{ord(match[0])};"


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a cell starting with one of
    :data:`FORMULA_STARTS` gets a leading ``'`` (which Excel and LibreOffice show as text and hide);
    any other text is returned unchanged."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
