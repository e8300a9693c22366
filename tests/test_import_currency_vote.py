"""A new account's currency is the one most of the seller's orders are in, whatever the order of the
files: each file votes for its (the seller's) currency with the valid orders it holds in it."""

from __future__ import annotations

import datetime as dt

import pytest

from ebaydash import services
from ebaydash.context import Context
from ebaydash.services import ImportFile
from tests.conftest import OPERATOR
from tests.test_import_zones import ctx, report_of  # noqa: F401  (fixture)

SALE = dt.datetime(2026, 9, 14, 12, 0)


def uk_and_us(uk: int, us: int) -> tuple[ImportFile, ImportFile]:
    """A UK report of ``uk`` orders in £ and a US one of ``us`` orders in $, with distinct ids."""
    return (
        report_of("UK", *[SALE] * uk, first_record=1),
        report_of("US", *[SALE] * us, first_record=1 + uk),
    )


@pytest.mark.parametrize("us_first", [False, True], ids=["uk-first", "us-first"])
def test_the_currency_most_orders_are_in_wins_in_either_file_order(
    us_first: bool,
    ctx: Context,  # noqa: F811
) -> None:
    uk, us = uk_and_us(2, 3)
    files = [us, uk] if us_first else [uk, us]
    report = services.import_orders(ctx, OPERATOR, files, account_name="MixA", skip_invalid=True)
    assert report.committed, report.summary
    assert report.currency == "USD"
    assert (report.imported, report.rejected) == (3, 2)
    assert report.accounted == report.orders_in == 5


def test_a_larger_file_outvotes_a_first_smaller_one_the_other_way_too(ctx: Context) -> None:  # noqa: F811
    uk, us = uk_and_us(3, 2)
    report = services.import_orders(ctx, OPERATOR, [us, uk], account_name="MixB", skip_invalid=True)
    assert report.committed, report.summary
    assert report.currency == "GBP"
    assert (report.imported, report.rejected) == (3, 2)
