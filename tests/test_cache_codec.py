"""The L2 codec: exact round trips of everything services return, and garbage is a miss."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebaydash import models, services
from ebaydash.cache import codec
from ebaydash.context import build_context
from ebaydash.models import Account, Kpi, OrderFilter, OrderRow, OrdersPage, Window
from ebaydash.settings import Settings
from tests.conftest import OPERATOR

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def round_trip(value: object) -> object:
    return codec.loads(codec.dumps(value))


# -- values -------------------------------------------------------------------------------------

aware = st.builds(
    lambda moment, zone: moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    st.sampled_from(ZONES),
)
fixed_offset = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes))),
    st.datetimes(),
    st.integers(-14 * 60, 14 * 60),
)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9, min_value=-(10**9))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # arbitrary size: beyond 64 bits too
    st.floats(),  # NaN and infinities included
    st.text(),
    decimals,
    st.decimals(allow_nan=False),
    st.datetimes(),
    aware,
    fixed_offset,
    st.dates(),
    st.times(),
    st.timedeltas(),
)
hashable = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), decimals, st.dates())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.dictionaries(hashable, inner, max_size=4),
        st.sets(hashable, max_size=4),
        st.frozensets(hashable, max_size=4),
    ),
    max_leaves=20,
)


def same(a: object, b: object) -> bool:
    """Equality that also checks types, and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)  # type: ignore[arg-type]
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)  # type: ignore[attr-defined,index]
    if isinstance(a, dt.datetime):
        return a == b and a.tzinfo == b.tzinfo and a.utcoffset() == b.utcoffset()  # type: ignore[attr-defined]
    if isinstance(a, Decimal):
        return str(a) == str(b)  # also keeps the exponent: 1.10 stays 1.10
    return a == b


@settings(max_examples=300, deadline=None)
@given(values)
def test_values_round_trip_exactly(value: object) -> None:
    assert same(round_trip(value), value)


def test_falsy_values_are_values() -> None:
    for value in (0, 0.0, "", [], {}, (), None, False, Decimal("0.00"), set()):
        assert same(round_trip(value), value)


def test_a_dict_that_looks_like_a_tag_stays_a_dict() -> None:
    for value in ({"$dec": "1.5"}, {"$dc": ["os.system", ["echo hi"]]}, {"$": 1}):
        assert same(round_trip(value), value)


def test_zone_aware_datetimes_keep_their_zone_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before_dst = dt.datetime(2026, 3, 29, 1, 30, tzinfo=berlin)
    back = round_trip(before_dst)
    assert isinstance(back, dt.datetime) and back.tzinfo is berlin
    # wall-clock arithmetic (what Window.previous does) gives the same answer as the original
    assert back + dt.timedelta(days=1) == before_dst + dt.timedelta(days=1)
    ambiguous = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=berlin)
    assert round_trip(ambiguous).utcoffset() == ambiguous.utcoffset()  # type: ignore[union-attr]


# -- the app's dataclasses ----------------------------------------------------------------------


@st.composite
def order_rows(draw: st.DrawFn) -> OrderRow:
    return OrderRow(
        id=draw(st.integers(1, 2**62)),
        ebay_order_id=draw(st.text(max_size=20)),
        order_date=draw(st.one_of(aware, fixed_offset)),
        status=draw(st.sampled_from(["paid", "shipped", "cancelled"])),
        buyer=draw(st.one_of(st.none(), st.text(max_size=10))),
        total_amount=draw(decimals),
        refunded_amount=draw(decimals),
        currency=draw(st.sampled_from(["USD", "EUR"])),
        items=draw(st.integers(0, 10**6)),
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(order_rows(), max_size=60), st.one_of(st.none(), st.text()))
def test_orders_pages_round_trip(rows: list[OrderRow], cursor: str | None) -> None:
    page = OrdersPage(
        rows=rows, next_cursor=cursor, prev_cursor=None, page_size=50, sort="newest", first_row=7
    )
    back = round_trip(page)
    assert back == page
    assert all(same(a.order_date, b.order_date) for a, b in zip(back.rows, rows, strict=True))  # type: ignore[attr-defined]


def test_rows_of_mixed_field_types_round_trip() -> None:
    # the column-wise form must cope with a column holding several types
    kpis = [Kpi(Decimal("1.50"), 3), Kpi(2, Decimal("0.00")), Kpi(10**30, -1)]
    assert same(round_trip(kpis), kpis)


def test_every_dataclass_in_models_is_allowed() -> None:
    window = Window.last_days(7, "Europe/Berlin", today=dt.date(2026, 3, 30))
    flt = OrderFilter(statuses=("paid", "shipped"), window=window, buyer="bob", search=None)
    back = round_trip(flt)
    assert back == flt and isinstance(back.statuses, tuple)  # type: ignore[attr-defined]
    assert back.window.previous() == window.previous()  # type: ignore[attr-defined]
    names = {cls.__name__ for cls in vars(models).values() if dataclasses.is_dataclass(cls)}
    assert {"Account", "Kpis", "OrdersPage", "OrderDetail", "TrendPoint"} <= names


def test_other_types_are_refused_on_the_way_in() -> None:
    @dataclasses.dataclass
    class NotRegistered:
        x: int

    for value in (NotRegistered(1), object(), b"bytes", 1 + 2j):
        with pytest.raises(codec.CodecError):
            codec.dumps(value)


# -- DataFrames ---------------------------------------------------------------------------------


def test_dataframes_round_trip_with_their_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "count": pd.Series([1, 2, 3], dtype="int64"),
            "ratio": [0.5, math.nan, -1.0],
            "flag": [True, False, True],
            "money": [Decimal("1.10"), None, Decimal("-3.00")],
            "name": pd.Series(["a", None, "c"], dtype="str"),
            "label": pd.Series(["x", None, "z"], dtype="string"),
            "naive": pd.to_datetime(["2026-01-01 10:00", None, "2026-03-29 01:30"]),
            "utc": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 00:00", None], utc=True),
            "local": pd.to_datetime(["2026-01-01 00:00", "2026-06-01 00:00", "2026-10-25 02:30"]).tz_localize(
                "Europe/Berlin", ambiguous=[False, False, True]
            ),
            "nullable": pd.Series([1, None, 3], dtype="Int64"),
            "kind": pd.Categorical(["b", "a", "b"], categories=["b", "a"], ordered=True),
            "day": [dt.date(2026, 1, 1), dt.date(2026, 1, 2), None],
        },
        index=pd.Index([10, 20, 30], name="order_id"),
    )
    pd.testing.assert_frame_equal(round_trip(frame), frame)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(2**62), 2**62), st.floats(allow_nan=True), decimals, st.text()), max_size=20
    ),
    st.integers(0, 5),
)
def test_generated_dataframes_round_trip(rows: list[tuple[int, float, Decimal, str]], start: int) -> None:
    frame = pd.DataFrame(rows, columns=["i", "f", "d", "s"])
    frame.index = pd.RangeIndex(start, start + len(frame))
    frame["i"] = frame["i"].astype("int64")
    frame["f"] = frame["f"].astype("float64")
    pd.testing.assert_frame_equal(round_trip(frame), frame)  # type: ignore[arg-type]


def test_frames_with_repeated_labels_and_no_rows_round_trip() -> None:
    repeated = pd.DataFrame([[1, 2]], columns=["a", "a"])
    pd.testing.assert_frame_equal(round_trip(repeated), repeated)  # type: ignore[arg-type]
    empty = pd.DataFrame({"a": pd.Series([], dtype="int64")})
    pd.testing.assert_frame_equal(round_trip(empty), empty)  # type: ignore[arg-type]
    nothing = pd.DataFrame()
    assert round_trip(nothing).shape == (0, 0)  # type: ignore[attr-defined]


# -- garbage ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_codec_error(data: bytes) -> None:
    with contextlib.suppress(codec.CodecError):
        codec.loads(data)


json_trees = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["$dec", "$dt", "$dc", "$rows", "$df", "$map", "$set", "$x", "a"]),
            inner,
            max_size=2,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(json_trees)
def test_well_formed_json_with_bogus_tags_never_raises_anything_but_codec_error(tree: object) -> None:
    with contextlib.suppress(codec.CodecError):
        codec.loads(orjson.dumps(tree))


@pytest.mark.parametrize(
    "payload",
    [
        {"$dc": ["os.system", ["echo pwned"]]},
        {"$dc": ["subprocess.Popen/000000", [["sh"]]]},
        {"$rows": ["builtins.eval/000000", 1, [["r", ["1+1"]]]]},
        {
            "$df": {
                "rows": 1,
                "columns": {"kind": "values", "dtype": "object", "values": ["a"]},
                "data": [{"kind": "values", "dtype": "numpy.dtype", "values": [1]}],
                "index": {"kind": "range", "range": [0, 1, 1]},
                "index_name": None,
            }
        },
        {"$dt": ["2026-01-01T00:00:00+00:00", "../../etc/passwd"]},
    ],
)
def test_names_read_from_redis_are_never_imported(payload: object) -> None:
    with pytest.raises(codec.CodecError):
        codec.loads(orjson.dumps(payload))


def test_an_entry_of_a_changed_class_is_a_miss_not_a_wrong_value() -> None:
    data = orjson.loads(codec.dumps(Account(1, "A", "a", "EBAY_US", "USD", "UTC")))
    name, fields = data["$dc"]
    renamed = {"$dc": [name.rsplit("/", 1)[0] + "/ffffff", fields]}
    with pytest.raises(codec.CodecError):
        codec.loads(orjson.dumps(renamed))
    with pytest.raises(codec.CodecError):
        codec.loads(orjson.dumps({"$dc": [name, fields[:-1]]}))


# -- what the services really return ------------------------------------------------------------


def test_every_cached_service_result_round_trips(demo_url: str) -> None:
    """If a service returned a type the codec refuses, L2 would silently never hold it."""
    settings_ = Settings(database_url=demo_url)
    ctx = build_context(settings_, start_sampler=False)
    try:
        all_accounts = services.accounts(ctx, OPERATOR)
        account = services.default_account(all_accounts)
        window = Window.last_days(30, account.timezone)
        flt = OrderFilter(window=window)
        page = services.orders_page(ctx, OPERATOR, account.id, flt, page_size=50)
        results = [
            all_accounts,
            services.kpis(ctx, OPERATOR, account.id, window),
            services.trend(ctx, OPERATOR, account.id, window),
            page,
            services.orders_total(ctx, OPERATOR, account.id, flt),
            services.order_detail(ctx, OPERATOR, account.id, page.rows[0].id),
        ]
    finally:
        ctx.close()
    assert page.rows
    for result in results:
        assert round_trip(result) == result


def test_rows_restored_without_init_are_ordinary_frozen_dataclasses() -> None:
    rows = [
        OrderRow(
            i,
            f"o{i}",
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "paid",
            None,
            Decimal("1.00"),
            Decimal(0),
            "USD",
            1,
        )
        for i in range(3)
    ]
    back = round_trip(rows)
    assert back == rows and [hash(r) for r in back] == [hash(r) for r in rows]  # type: ignore[union-attr]
    with pytest.raises(dataclasses.FrozenInstanceError):
        back[0].status = "cancelled"  # type: ignore[index]
    assert dataclasses.replace(back[0], status="shipped").status == "shipped"  # type: ignore[index]
    # a class that validates in __post_init__ still goes through __init__
    windows = [Window.last_days(n, "UTC", today=dt.date(2026, 1, 31)) for n in (1, 7, 30)]
    assert round_trip(windows) == windows


def test_repeated_amounts_decode_to_equal_decimals_and_only_from_text() -> None:
    rows = [
        OrderRow(
            i,
            f"o{i}",
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "paid",
            None,
            Decimal("1.10") if i % 2 else Decimal("2.00"),
            Decimal("0.00"),
            "USD",
            1,
        )
        for i in range(10)
    ]
    data = codec.dumps(rows)
    back = codec.loads(data)
    assert back == rows and all(type(r.refunded_amount) is Decimal for r in back)
    # numbers where text belongs: 1, 1.0 and True are equal keys, so they must not be merged
    columns = orjson.loads(data)["$rows"][2]
    refunds = next(column for column in columns if column[0] == "d" and column[1][0] == "0.00")
    refunds[1] = [1, 1.0, True, 1, 1.0, True, 1, 1.0, True, 1]
    forged = orjson.dumps({"$rows": [orjson.loads(data)["$rows"][0], 10, columns]})
    with pytest.raises(codec.CodecError):
        codec.loads(forged)
