"""The L2 value format: JSON (orjson) with tags for the types JSON lacks. Never pickle.

Whoever can write to Redis must not be able to run code in the app, so decoding only ever builds
plain JSON values, a fixed set of standard types (Decimal, datetime, date, time, timedelta, tuple,
set, DataFrame) and dataclasses from an explicit registry. A type name read from Redis is looked up
in that registry and nowhere else; nothing is imported by name.

A tagged value is a JSON object with exactly one key, the tag (``{"$dec": "12.30"}``). A plain dict
that would look like one is wrapped (``{"$map": [[k, v], …]}``), so no value can be mistaken for
another. Dataclasses are stored as their field values in order, under a name that includes a hash
of the field names: when a class changes shape, old entries stop decoding (a miss), instead of
filling the wrong fields.

Anything unexpected while decoding raises :class:`CodecError`, which the cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pandas as pd

# part of every L2 key: bump it when the encoding changes incompatibly (2: the stored bytes name
# their key, see ebaydash.cache.redis)
FORMAT: Final = 2

_MAX_JSON_INT = 2**63 - 1


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that are not a value this codec wrote."""


# -- the registry of dataclasses ----------------------------------------------------------------

_BY_NAME: dict[str, type[Any]] = {}
_NAME_OF: dict[type[Any], str] = {}
_FIELDS: dict[type[Any], tuple[str, ...]] = {}
# classes without __post_init__ or slots, whose rows are restored without __init__ (see _rows)
_ROW_BUILDERS: dict[type[Any], Callable[[type[Any], list[list[Any]]], list[Any]]] = {}
_registered_modules: set[str] = set()


def register(cls: type[Any]) -> type[Any]:
    """Allow instances of dataclass ``cls`` in cached values. Usable as a class decorator."""
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    if len(fields) != len(dataclasses.fields(cls)):
        raise TypeError(f"{cls.__name__} has fields outside __init__; it cannot be cached")
    shape = hashlib.blake2b(",".join(fields).encode(), digest_size=3).hexdigest()
    name = f"{cls.__module__}.{cls.__qualname__}/{shape}"
    existing = _BY_NAME.get(name)
    if existing is not None and existing is not cls:
        raise TypeError(f"two classes register as {name}")
    _BY_NAME[name] = cls
    _NAME_OF[cls] = name
    _FIELDS[cls] = fields
    if not hasattr(cls, "__post_init__") and not hasattr(cls, "__slots__"):
        _ROW_BUILDERS[cls] = _row_builder(fields)
    return cls


def _row_builder(fields: tuple[str, ...]) -> Callable[[type[Any], list[list[Any]]], list[Any]]:
    """A function turning columns into rows of a class with these fields, restored the way pickle
    and copy restore them: a new object whose ``__dict__`` is filled, skipping ``__init__`` (a
    frozen dataclass's __init__ sets each field through object.__setattr__, most of the cost).

    Its source is made here, once per registered class, like the ``__init__`` that dataclasses
    writes: a dict display with the field names as constants builds each row's dict in one step,
    about 40 % faster than ``dict(zip(fields, values))``. Only the class's own field names go into
    it, as string literals (repr); nothing read from Redis ever does."""
    names = [f"v{i}" for i in range(len(fields))]
    items = ", ".join(f"{field!r}: {name}" for field, name in zip(fields, names, strict=True))
    source = (
        "def build(cls, columns):\n"
        "    new = object.__new__\n"
        "    rows = []\n"
        "    append = rows.append\n"
        f"    for ({', '.join(names)},) in zip(*columns, strict=True):\n"
        "        row = new(cls)\n"
        f"        row.__dict__.update({{{items}}})\n"
        "        append(row)\n"
        "    return rows\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, {"__builtins__": {"object": object, "zip": zip}}, namespace)
    build: Callable[[type[Any], list[list[Any]]], list[Any]] = namespace["build"]
    return build


def register_module_dataclasses(module: Any) -> None:
    """Register every dataclass defined in ``module`` (the app's models)."""
    if module.__name__ in _registered_modules:
        return
    for value in vars(module).values():
        if (
            dataclasses.is_dataclass(value)
            and isinstance(value, type)
            and value.__module__ == module.__name__
        ):
            register(value)
    _registered_modules.add(module.__name__)


def _ensure_app_models() -> None:
    # The models module is the one place the app's value types live; registering it lazily keeps
    # this module importable on its own and picks up models added later without a list to update.
    if "ebaydash.models" not in _registered_modules:
        from ebaydash import models

        register_module_dataclasses(models)


# -- encoding -----------------------------------------------------------------------------------


def _zone_key(tz: dt.tzinfo | None) -> str | None:
    if tz is None or tz is dt.UTC:
        return None
    if isinstance(tz, ZoneInfo):
        return tz.key
    if isinstance(tz, dt.timezone):
        return None  # a fixed offset survives in the ISO text
    raise CodecError(f"time zone {tz!r} is neither a ZoneInfo nor a fixed offset")


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -_MAX_JSON_INT <= value <= _MAX_JSON_INT else {"$int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is Decimal:
        return {"$dec": str(value)}
    if kind is list:
        if len(value) > 1:
            columnar = _encode_rows(value)
            if columnar is not None:
                return columnar
        return [_encode(v) for v in value]
    if kind is dict:
        if all(type(k) is str for k in value) and not (len(value) == 1 and next(iter(value)).startswith("$")):
            return {k: _encode(v) for k, v in value.items()}
        return {"$map": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if kind is tuple:
        return {"$tuple": [_encode(v) for v in value]}
    if kind is dt.datetime:
        if value.tzinfo in _ORJSON_ZONES:
            return {"$dt": value}  # orjson writes it as ISO 8601 text
        zone = _zone_key(value.tzinfo)
        return {"$dt": value.isoformat() if zone is None else [value.isoformat(), zone]}
    if kind is dt.date:
        return {"$date": value}
    if kind is dt.time:
        if value.tzinfo is not None:
            raise CodecError("times of day with a time zone are not supported")
        return {"$time": value.isoformat()}
    if kind is dt.timedelta:
        return {"$td": [value.days, value.seconds, value.microseconds]}
    if kind is set or kind is frozenset:
        items = [_encode(v) for v in value]
        items.sort(key=orjson.dumps)  # a stable order, so equal sets encode to equal bytes
        return {"$set" if kind is set else "$fset": items}
    if kind is pd.DataFrame:
        return {"$df": _encode_frame(value)}
    if kind is pd.Timestamp:
        if value is pd.NaT:
            return {"$nat": None}
        return {"$ts": [value.isoformat(), _zone_key(value.tzinfo)]}
    name = _NAME_OF.get(kind)
    if name is None and dataclasses.is_dataclass(value):
        _ensure_app_models()
        name = _NAME_OF.get(kind)
    if name is not None:
        return {"$dc": [name, [_encode(getattr(value, f)) for f in _FIELDS[kind]]]}
    raise CodecError(f"values of type {kind.__module__}.{kind.__qualname__} cannot be cached in L2")


_PLAIN = frozenset((str, bool, type(None)))


def _encode_rows(rows: list[Any]) -> dict[str, Any] | None:
    """A list of one registered dataclass, column by column: a page of orders decodes with one
    C-level ``map`` per column instead of a Python call per field, several times faster."""
    kind = type(rows[0])
    name = _NAME_OF.get(kind)
    if name is None or any(type(row) is not kind for row in rows):
        return None
    fields = _FIELDS[kind]
    if len(fields) < 2:
        return None  # attrgetter of one name returns the value, not a tuple; rare, keep it simple
    columns = []
    for values in zip(*map(attrgetter(*fields), rows), strict=True):
        types = set(map(type, values))
        if types <= _PLAIN or (types <= _PLAIN_OR_INT and _ints_fit(values, types)):
            columns.append(["r", values])
        elif types == _DECIMAL:
            columns.append(["d", list(map(str, values))])
        elif types == _DATETIME and set(map(_TZINFO, values)) <= _ORJSON_ZONES:
            columns.append(["t", values])  # orjson writes ISO 8601, several times faster
        elif types == _DATE:
            columns.append(["a", values])
        else:
            columns.append(["x", [_encode(v) for v in values]])
    return {"$rows": [name, len(rows), columns]}


_PLAIN_OR_INT = _PLAIN | {int}
_DECIMAL, _DATETIME, _DATE = frozenset((Decimal,)), frozenset((dt.datetime,)), frozenset((dt.date,))
_TZINFO = attrgetter("tzinfo")
# orjson writes these datetimes in exactly the ISO form datetime.fromisoformat reads back; other
# fixed offsets go through isoformat (orjson would drop an offset's seconds)
_ORJSON_ZONES = frozenset((None, dt.UTC))


def _ints_fit(values: tuple[Any, ...], types: set[type]) -> bool:
    ints = values if types == {int} else [v for v in values if type(v) is int]
    return not ints or (min(ints) >= -_MAX_JSON_INT and max(ints) <= _MAX_JSON_INT)


def _frame_zone(tz: Any) -> str | None:
    if tz is None:
        return None
    if isinstance(tz, ZoneInfo):
        return tz.key
    if tz is dt.UTC or str(tz) == "UTC":
        return "UTC"
    raise CodecError(f"time zone {tz!r} is not supported in DataFrames")


def _encode_column(values: pd.Series | pd.Index) -> dict[str, Any]:
    """One column (or an index) with enough of its dtype to rebuild it exactly."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype).startswith("datetime64"):
        stamps = pd.DatetimeIndex(values)
        zone = _frame_zone(stamps.tz)
        if stamps.tz is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        missing = stamps.isna().tolist()
        ints = [None if gone else v for v, gone in zip(stamps.asi8.tolist(), missing, strict=True)]
        return {"kind": "datetime", "unit": stamps.unit, "tz": zone, "values": ints}
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "kind": "category",
            "categories": _encode_column(dtype.categories),
            "ordered": bool(dtype.ordered),
            "codes": pd.Categorical(values).codes.tolist(),
        }
    name = str(dtype)
    if isinstance(dtype, pd.StringDtype):
        if name not in _STRING_DTYPES:
            raise CodecError(f"DataFrame columns of dtype {name} are not supported")
        return {"kind": "string", "dtype": name, "values": [None if pd.isna(v) else v for v in values]}
    if name in _NULLABLE:
        plain = [None if pd.isna(v) else v for v in values.tolist()]
        return {"kind": "values", "dtype": name, "values": _encode(plain)}
    if name in _NUMPY_DTYPES or name == "object":
        return {"kind": "values", "dtype": name, "values": _encode(values.tolist())}
    raise CodecError(f"DataFrame columns of dtype {name} are not supported")


# The dtypes a column may be rebuilt with: a fixed list, so bytes from Redis cannot name another.
_SIZED = ("8", "16", "32", "64")
_NUMPY_DTYPES = frozenset(["bool", "float32", "float64", *(f"{k}int{n}" for k in ("", "u") for n in _SIZED)])
_NULLABLE = frozenset(["boolean", "Float32", "Float64", *(f"{k}Int{n}" for k in ("", "U") for n in _SIZED)])
_STRING_DTYPES = {"str": pd.StringDtype(na_value=math.nan), "string": pd.StringDtype()}
_TIME_UNITS = frozenset(("s", "ms", "us", "ns"))
_NAT = int(np.iinfo(np.int64).min)


def _encode_frame(frame: pd.DataFrame) -> dict[str, Any]:
    if isinstance(frame.columns, pd.MultiIndex) or isinstance(frame.index, pd.MultiIndex):
        raise CodecError("DataFrames with a MultiIndex are not supported")
    index = frame.index
    if isinstance(index, pd.RangeIndex):
        encoded_index: dict[str, Any] = {"kind": "range", "range": [index.start, index.stop, index.step]}
    else:
        encoded_index = _encode_column(index)
    return {
        "rows": len(frame),
        "columns": _encode_column(frame.columns),
        "data": [_encode_column(frame.iloc[:, i]) for i in range(frame.shape[1])],
        "index": encoded_index,
        "index_name": _encode(index.name),
    }


def dumps(value: Any) -> bytes:
    """``value`` as bytes for L2; :class:`CodecError` if it holds a type the codec refuses."""
    try:
        return orjson.dumps(_encode(value))
    except (TypeError, orjson.JSONEncodeError, RecursionError) as exc:
        raise CodecError(f"cannot encode value: {exc}") from exc


# -- decoding -----------------------------------------------------------------------------------


def _decode(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_decode(v) for v in value]
    if kind is dict:
        if len(value) == 1:
            tag, payload = next(iter(value.items()))
            if tag[:1] == "$":
                decoder = _TAGS.get(tag)
                if decoder is None:
                    raise CodecError(f"unknown tag {tag!r}")
                return decoder(payload)
        return {k: _decode(v) for k, v in value.items()}
    return value


def _str(payload: Any) -> str:
    if type(payload) is not str:
        raise CodecError("expected a string")
    return payload


def _list(payload: Any, length: int | None = None) -> list[Any]:
    if type(payload) is not list or (length is not None and len(payload) != length):
        raise CodecError("expected a list" + ("" if length is None else f" of {length}"))
    return payload


def _dec(payload: Any) -> Decimal:
    try:
        return Decimal(_str(payload))
    except InvalidOperation as exc:
        raise CodecError("not a decimal") from exc


def _zone(key: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_str(key))
    except (ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError → caught below too
        raise CodecError(f"unknown time zone {key!r}") from exc
    except KeyError as exc:
        raise CodecError(f"unknown time zone {key!r}") from exc


def _datetime(payload: Any) -> dt.datetime:
    if type(payload) is str:
        return dt.datetime.fromisoformat(payload)
    text, zone = _list(payload, 2)
    return dt.datetime.fromisoformat(_str(text)).astimezone(_zone(zone))


def _dataclass(payload: Any) -> Any:
    name, values = _list(payload, 2)
    cls = _registered(name)
    values = _list(values, len(_FIELDS[cls]))
    return cls(*[_decode(v) for v in values])


def _decimals(values: list[Any]) -> list[Decimal]:
    # Columns of amounts repeat values (refunds are mostly 0.00): make each distinct one once.
    # Decimals are immutable, so rows sharing one is safe, and it spares L1 the copies.
    distinct = set(values)
    if len(distinct) * 2 > len(values):
        return list(map(Decimal, values))
    if set(map(type, distinct)) != {str}:  # 1 == 1.0 == True: only text may be merged
        raise CodecError("a column of decimals holds something other than text")
    made = {text: Decimal(text) for text in distinct}
    return list(map(made.__getitem__, values))


_COLUMN_DECODERS: dict[str, Callable[[Any], Any]] = {
    "t": dt.datetime.fromisoformat,
    "a": dt.date.fromisoformat,
    "x": _decode,
}


def _rows(payload: Any) -> list[Any]:
    name, count, columns = _list(payload, 3)
    cls = _registered(name)
    columns = _list(columns, len(_FIELDS[cls]))
    decoded = []
    for column in columns:
        code, values = _list(column, 2)
        values = _list(values, count)
        if code == "r":
            decoded.append(values)
        elif code == "d":
            decoded.append(_decimals(values))
        else:
            decoded.append(list(map(_COLUMN_DECODERS[code], values)))
    if not decoded:
        return [cls() for _ in range(count)]
    build = _ROW_BUILDERS.get(cls)
    if build is None:  # it validates in __post_init__, or has slots: through __init__
        return list(map(cls, *decoded))
    return build(cls, decoded)


def _registered(name: Any) -> type[Any]:
    cls = _BY_NAME.get(name) if type(name) is str else None
    if cls is None:
        _ensure_app_models()
        cls = _BY_NAME.get(name) if type(name) is str else None
        if cls is None:
            raise CodecError(f"type {name!r} is not registered for caching")
    return cls


def _int(payload: Any) -> int:
    text = _str(payload)
    if len(text) > 4000:
        raise CodecError("integer too long")
    return int(text)


def _float(payload: Any) -> float:
    text = _str(payload)
    if text not in {"nan", "inf", "-inf"}:
        raise CodecError("not a special float")
    return float(text)


def _map(payload: Any) -> dict[Any, Any]:
    out = {}
    for pair in _list(payload):
        k, v = _list(pair, 2)
        out[_decode(k)] = _decode(v)
    return out


def _timestamp(payload: Any) -> pd.Timestamp:
    text, zone = _list(payload, 2)
    stamp = pd.Timestamp(_str(text))
    return stamp if zone is None else stamp.tz_convert(_zone(zone))


def _decode_column(spec: Any, rows: int | None) -> pd.Index:
    """A column (or index) that :func:`_encode_column` wrote, as an Index of the right dtype."""
    if type(spec) is not dict:
        raise CodecError("bad DataFrame column")
    kind = spec.get("kind")
    index: pd.Index
    if kind == "range":
        start, stop, step = _list(spec.get("range"), 3)
        index = pd.RangeIndex(int(start), int(stop), int(step))
    elif kind == "datetime":
        unit = spec.get("unit")
        if unit not in _TIME_UNITS:
            raise CodecError(f"time unit {unit!r} is not allowed")
        ints = [_NAT if v is None else v for v in _list(spec.get("values"))]
        stamps = pd.DatetimeIndex(np.array(ints, dtype="int64").view(f"datetime64[{unit}]"))
        tz = spec.get("tz")
        if tz is not None:
            stamps = stamps.tz_localize("UTC")
            if tz != "UTC":
                stamps = stamps.tz_convert(_zone(tz))
        index = stamps
    elif kind == "category":
        categories = _decode_column(spec.get("categories"), None)
        codes = _list(spec.get("codes"))
        index = pd.CategoricalIndex(
            pd.Categorical.from_codes(codes, categories=categories, ordered=bool(spec.get("ordered")))
        )
    elif kind == "string":
        string_dtype = _STRING_DTYPES.get(str(spec.get("dtype")))
        if string_dtype is None:
            raise CodecError("string dtype not allowed")
        index = pd.Index(_list(spec.get("values")), dtype=string_dtype)
    elif kind == "values":
        name = spec.get("dtype")
        if name not in _NUMPY_DTYPES and name not in _NULLABLE and name != "object":
            raise CodecError(f"dtype {name!r} is not allowed")
        values = _list(_decode(spec.get("values")))
        if name == "object":
            index = pd.Index(values, dtype=object, tupleize_cols=False)
        elif name in _NULLABLE:
            index = pd.Index(pd.array(values, dtype=name))
        else:
            index = pd.Index(np.array(values, dtype=name))
    else:
        raise CodecError(f"unknown column kind {kind!r}")
    if rows is not None and len(index) != rows:
        raise CodecError("column length does not match the frame")
    return index


def _frame(payload: Any) -> pd.DataFrame:
    if type(payload) is not dict:
        raise CodecError("bad DataFrame")
    rows = payload.get("rows")
    if type(rows) is not int or rows < 0:
        raise CodecError("bad DataFrame length")
    columns = _decode_column(payload.get("columns"), None)
    data = _list(payload.get("data"), len(columns))
    index = _decode_column(payload.get("index"), rows)
    index.name = _decode(payload.get("index_name"))
    # build by position first (labels may repeat), then put the real labels and index on
    positions = pd.RangeIndex(rows)
    frame = pd.DataFrame(
        {i: pd.Series(_decode_column(spec, rows), index=positions) for i, spec in enumerate(data)},
        index=positions,
    )
    frame.index = index
    frame.columns = columns
    return frame


def _time(payload: Any) -> dt.time:
    return dt.time.fromisoformat(_str(payload))


def _timedelta(payload: Any) -> dt.timedelta:
    days, seconds, micros = _list(payload, 3)
    return dt.timedelta(days=days, seconds=seconds, microseconds=micros)


def _items(payload: Any) -> Iterable[Any]:
    return (_decode(v) for v in _list(payload))


_TAGS: dict[str, Callable[[Any], Any]] = {
    "$dec": _dec,
    "$dt": _datetime,
    "$date": lambda p: dt.date.fromisoformat(_str(p)),
    "$time": _time,
    "$td": _timedelta,
    "$tuple": lambda p: tuple(_items(p)),
    "$set": lambda p: set(_items(p)),
    "$fset": lambda p: frozenset(_items(p)),
    "$map": _map,
    "$int": _int,
    "$float": _float,
    "$dc": _dataclass,
    "$rows": _rows,
    "$df": _frame,
    "$ts": _timestamp,
    "$nat": lambda p: pd.NaT,
}


def loads(data: bytes) -> Any:
    """The value ``dumps`` wrote; :class:`CodecError` for anything else (garbage is a miss)."""
    try:
        return _decode(orjson.loads(data))
    except CodecError:
        raise
    except Exception as exc:  # any garbage, including a dataclass refusing its fields, is a miss
        raise CodecError(f"not a cached value: {type(exc).__name__}: {exc}") from exc
