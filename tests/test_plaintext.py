"""Shop data as text: the Markdown escaper, the spreadsheet guard and the page helpers built on them
(the browser side is tests/test_plaintext_browser.py)."""

from __future__ import annotations

import csv
import html
import io
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebaydash import ui
from ebaydash.importers.records import RowError
from ebaydash.importers.rejects import rejects_csv
from ebaydash.plaintext import FORMULA_STARTS, WORD_JOINER, markdown_literal, spreadsheet_safe

HOSTILE = [
    "**bold**",
    ":red[alarm]",
    "[click](javascript:alert(1))",
    "![](http://example.invalid/x.png)",
    "<img src=http://example.invalid/y.png onerror=alert(1)>",
    "<b>tag</b>",
    "$x^2$",
    ":material/home: :smile:",
    "www.example.invalid",
    "mail me: someone@example.invalid",
    "# heading",
    "1. list",
    "    code block",
    "`code`",
    "a | b\n---|---",
    "&lt;already escaped&gt;",
]
REFERENCE = re.compile(r"&#\d+;")


def shown(rendered: str) -> str:
    """What a CommonMark renderer shows: each reference decoded to its character, as text (the
    invisible word joiners aside)."""
    return html.unescape(rendered).replace(WORD_JOINER, "")


def markup_characters(rendered: str) -> set[str]:
    """What is left in ``rendered``, outside numeric character references, that could start
    Markdown (or Streamlit's extensions), HTML or an autolink."""
    bare = REFERENCE.sub("\x00", rendered)
    found = set(bare) & set("\\`*_~[]<>&$@")
    found |= {m[0] for m in re.finditer(r":\S|(?i:www\.)", bare)}
    if re.match(r" ?([#>+=|-]|\d+[.)])", bare):
        found.add("line start")
    # autolinks are found in the decoded text: an address or "@" must not follow a space or start
    decoded = html.unescape(rendered)
    found |= {m[0] for m in re.finditer(r"(?i)(?<!\u2060)(@|https?:|www\.)", decoded)}
    return found


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_text_keeps_no_markup_character_and_reads_back_the_same(raw: str) -> None:
    rendered = markdown_literal(raw)
    assert markup_characters(rendered) == set()
    assert shown(rendered) == re.sub(r"\s+", " ", raw)
    assert "\n" not in rendered


def test_the_check_sees_markup_in_raw_text() -> None:
    """Negative control: the hostile inputs themselves do carry markup characters."""
    # (leading spaces, the code block's markup, are folded instead: checked above)
    assert all(markup_characters(raw) or raw != re.sub(r"\s+", " ", raw) for raw in HOSTILE)
    assert markup_characters("    code block") == set()
    assert markup_characters("http://example.invalid") == {"http:", ":/"}


@given(st.text())
def test_any_text_round_trips_as_one_inline_run(raw: str) -> None:
    rendered = markdown_literal(raw)
    assert markup_characters(rendered) == set()
    assert all((ch.isprintable() or ch == WORD_JOINER) and ch not in "\r\n\t" for ch in rendered)
    # the visible characters are all kept, in order; only whitespace and controls are folded
    spaced = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in raw)
    assert shown(rendered) == re.sub(" +", " ", spaced)


def test_plain_sentences_pass_unchanged_and_non_ascii_stays() -> None:
    sentence = "Imported into 'Retro' (a new account): 6 new, 0 updated — 6 orders in 0.1 s."
    assert markdown_literal(sentence) == sentence
    assert markdown_literal("Crème brûlée 東京") == "Crème brûlée 東京"
    assert markdown_literal(42) == "42"


def test_messages_keep_our_code_spans_and_spaces() -> None:
    text = ui.message("Account **x** is new: run `ebaydash db upgrade` now.")
    assert text == "Account &#42;&#42;x&#42;&#42; is new: run `ebaydash db upgrade` now."


def test_ui_md_and_message_escape_shop_data() -> None:
    assert ui.md("**x**") == markdown_literal("**x**")
    text = ui.message("account ![](http://example.invalid/x.png) is unknown")
    assert "![" not in text and "http://" not in text
    assert shown(text) == "account ![](http://example.invalid/x.png) is unknown"


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_formula_starts_are_neutralised(start: str) -> None:
    assert spreadsheet_safe(start + "SUM(A1)") == "'" + start + "SUM(A1)"


@pytest.mark.parametrize("safe", ["alice", "12-34567-89012", "", " =not first", "'quoted"])
def test_other_text_is_unchanged(safe: str) -> None:
    assert spreadsheet_safe(safe) == safe


def test_download_frame_neutralises_text_cells_only() -> None:
    frame = pd.DataFrame(
        {
            "Buyer": ['=HYPERLINK("http://example.invalid")', "alice", None],
            "SKU": ["-5", "+x", "@me"],
            "Orders": [1, -2, 3],
            "Revenue": ["-$5.00", "$1.00", "$0.00"],
        }
    )
    safe = ui.csv_safe_frame(frame)
    assert list(safe["Buyer"][:2]) == ['\'=HYPERLINK("http://example.invalid")', "alice"]
    assert safe["Buyer"].isna()[2]
    assert list(safe["SKU"]) == ["'-5", "'+x", "'@me"]
    assert list(safe["Orders"]) == [1, -2, 3]  # numbers stay numbers
    assert list(safe["Revenue"]) == ["'-$5.00", "$1.00", "$0.00"]
    assert list(frame["SKU"]) == ["-5", "+x", "@me"]  # the table on screen keeps the true text
    rows = list(csv.reader(io.StringIO(safe.to_csv(index=False))))
    assert rows[1] == ['\'=HYPERLINK("http://example.invalid")', "'-5", "1", "'-$5.00"]
    assert rows[2] == ["alice", "'+x", "-2", "$1.00"]


def test_rejects_csv_neutralises_every_text_cell() -> None:
    error = RowError(
        file="=evil.csv", line=3, field="@field", reason="-bad", order_id="+1", raw="=cmd|' /C calc'!A0"
    )
    header, row = list(csv.reader(io.StringIO(rejects_csv([error]))))
    assert row == ["'=evil.csv", "3", "'+1", "'@field", "'-bad", "'=cmd|' /C calc'!A0"]
    assert header[0] == "file"


@pytest.mark.parametrize(
    ("raw", "part"),
    [("shop_one", "shop_one"), ("../../etc/passwd", "etc_passwd"), ("***", "account"), ("a" * 99, "a" * 40)],
)
def test_file_name_part(raw: str, part: str) -> None:
    assert ui.file_name_part(raw) == part
