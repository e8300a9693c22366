"""Array parameters as one text literal each (ebaydash.db.driver): what Postgres reads back is
exactly what was sent, whatever the strings hold; a datetime without a zone is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebaydash.db import driver

Pg = psycopg.Connection[tuple[object, ...]]


@pytest.fixture(scope="module")
def pg(postgres_url: str) -> Iterator[Pg]:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'America/Los_Angeles'")  # an offset must not depend on it
        yield conn


def _back(pg: Pg, literal: str, sql_type: str) -> list[object]:
    row = pg.execute(f"SELECT %s::{sql_type}[]", [literal]).fetchone()
    assert row is not None
    return list(row[0])  # type: ignore[call-overload]


NASTY = [
    "",
    "NULL",
    "null",
    " padded ",
    'a "quoted" word',
    "back\\slash",
    "\\",
    '\\"',
    "{braces}",
    "comma, inside",
    "multi\nline\ttab",
    "ünïcødé 🎉 日本",
    "'single'",
]


def test_strings_come_back_as_sent_and_none_as_null(pg: Pg) -> None:
    values: list[str | None] = [*NASTY, None]
    assert _back(pg, driver.text_array(values), "text") == values


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
        )
    )
)
def test_any_strings_come_back_as_sent(pg: Pg, values: list[str | None]) -> None:
    assert _back(pg, driver.text_array(values), "text") == values


def test_exact_numbers_come_back_exact(pg: Pg) -> None:
    money = [Decimal("0.00"), Decimal("-12.34"), Decimal("1E+2"), Decimal("99999999.99"), Decimal("0.10")]
    assert _back(pg, driver.number_array(money), "numeric") == money
    assert [str(v) for v in _back(pg, driver.number_array(money), "numeric")][-1] == "0.10"  # scale kept
    ints = [0, -1, 2**40, 7]
    assert _back(pg, driver.number_array(ints), "bigint") == ints


def test_instants_keep_their_instant_whatever_the_session_zone(pg: Pg) -> None:
    instants = [
        dt.datetime(2026, 3, 8, 10, 0, 0, 123456, tzinfo=dt.UTC),  # the US spring-forward day
        dt.datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),  # an ambiguous hour
        dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))),
    ]
    # compared in UTC: Python never calls an ambiguous local time equal across zones
    back = _back(pg, driver.instant_array(instants), "timestamptz")
    assert [v.astimezone(dt.UTC) for v in back] == [v.astimezone(dt.UTC) for v in instants]  # type: ignore[attr-defined]
    days = [dt.date(2024, 2, 29), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
    assert _back(pg, driver.date_array(days), "date") == days


def test_a_datetime_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="without a time zone"):
        driver.instant_array([dt.datetime(2026, 1, 1, 12, 0)])


def test_empty_arrays(pg: Pg) -> None:
    assert _back(pg, driver.text_array([]), "text") == []
    assert _back(pg, driver.number_array([]), "numeric") == []
    assert _back(pg, driver.instant_array([]), "timestamptz") == []
