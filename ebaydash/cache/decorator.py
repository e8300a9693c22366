"""``@cacheable``: read a service function ``fn(ctx, …)`` through ``ctx.cache``.

The key is ``{namespace}:v{version}:{name}:{hash}``: the namespace and the name are templates over
the function's arguments (``namespace="acct:{account_id}"``), and the hash covers every argument
but the context and the ``viewer`` (who asks: the services check the viewer's access before the
cache is read, and a value depends only on what is asked for), normalised (so
``f(ctx, 1, window)`` and ``f(ctx, account_id=1, window=window)`` share an entry).
Keys are therefore always scoped by account when the namespace names one.

A cached value is checked against the function's return annotation (its class; for ``list[X]``
and the like the container and its items' class): one of another shape (a bug in an older
version, or something written into Redis by hand) is a miss, recomputed and overwritten, never
handed to a page that would fail on it.

A caller passes ``fresh=True`` to bypass the cache and repopulate it (the refresh button). Declare
``fresh: bool = False`` as a keyword parameter of the function, so type checkers know the keyword;
the decorator consumes it, and it never takes part in the key.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import logging
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, cast

import orjson

if TYPE_CHECKING:
    from ebaydash.cache.tiered import TieredCache

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

_HASH_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


class HasCache(Protocol):
    cache: TieredCache


def _normalise(value: Any) -> Any:
    # orjson handles str, numbers, lists, tuples, dicts, dataclasses, datetimes and dates itself
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, set | frozenset):
        return {"$set": sorted(orjson.dumps(v, default=_normalise, option=_HASH_OPTIONS) for v in value)}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, dt.timedelta):
        return {"$td": value.total_seconds()}
    raise TypeError(f"cannot use a {type(value).__qualname__} as part of a cache key")


class UnkeyableArguments(TypeError):
    """Arguments no key can be built from (text that is not valid Unicode)."""


def argument_hash(arguments: Mapping[str, Any]) -> str:
    """A short stable hash of normalised arguments, for cache keys."""
    try:
        payload = orjson.dumps(arguments, default=_normalise, option=_HASH_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if "UTF-8" in str(exc):
            raise UnkeyableArguments(str(exc)) from exc
        raise
    return hashlib.blake2b(payload, digest_size=10).hexdigest()


class _Binder:
    """Arguments by name, with defaults: ``inspect.Signature.bind`` costs ~10 µs a call, this
    ~1 µs for the plain signatures services have (and falls back to it for anything else)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.signature = inspect.signature(fn)
        params = list(self.signature.parameters.values())
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        self.simple = all(p.kind in plain for p in params)
        self.names = [p.name for p in params]
        self.positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        self.defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not self.simple or len(args) > len(self.positional):
            return self._bind_slowly(args, kwargs)
        arguments = dict(zip(self.positional, args, strict=False))
        for name, value in kwargs.items():
            if name in arguments or name not in self.names:
                return self._bind_slowly(args, kwargs)  # raises the usual TypeError
            arguments[name] = value
        if len(arguments) < len(self.names):
            for name in self.names:
                if name not in arguments:
                    if name not in self.defaults:
                        return self._bind_slowly(args, kwargs)
                    arguments[name] = self.defaults[name]
        return arguments

    def _bind_slowly(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)


def cacheable(
    name: str, *, namespace: str, ttl: float | None = None
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Cache a service function ``fn(ctx, ...)`` in ``ctx.cache``.

    ``name`` and ``namespace`` are ``str.format`` templates over the function's arguments.
    ``ttl`` overrides the namespace's L2 TTL (seconds).
    """

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        binder = _Binder(fn)
        if not binder.names:
            raise TypeError(f"{fn.__qualname__} must take the context as its first argument")
        context_name = binder.names[0]
        declares_fresh = "fresh" in binder.names

        def key_and_context(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, HasCache]:
            arguments = binder.bind(args, kwargs)
            ctx = cast(HasCache, arguments.pop(context_name))
            arguments.pop("fresh", None)
            arguments.pop("viewer", None)
            scope = namespace.format(**arguments)
            key = ctx.cache.scoped(scope, f"{name.format(**arguments)}:{argument_hash(arguments)}")
            return key, ctx

        fits: list[Callable[[Any], bool]] = []  # the shape check, made on first use

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            fresh = bool(kwargs.get("fresh") if declares_fresh else kwargs.pop("fresh", False))
            try:
                key, ctx = key_and_context(args, kwargs)
            except UnkeyableArguments:
                # e.g. a lone surrogate typed into a search box: nothing to cache, and the
                # function's own validation gives the user the message
                return fn(*args, **kwargs)
            value = ctx.cache.get_or_create(key, lambda: fn(*args, **kwargs), ttl, refresh=fresh)
            if not fits:
                fits.append(shape_check(fn))
            if not fits[0](value):
                log.warning("cached %s for %r has the wrong shape; recomputing it", type(value).__name__, key)
                value = ctx.cache.get_or_create(key, lambda: fn(*args, **kwargs), ttl, refresh=True)
            return value

        def cache_key(*args: Any, **kwargs: Any) -> str:
            kwargs.pop("fresh", None)
            return key_and_context(args, kwargs)[0]

        wrapper.cache_key = cache_key  # type: ignore[attr-defined]
        return wrapper

    return decorate


def shape_check(fn: Callable[..., Any]) -> Callable[[Any], bool]:
    """Whether a value has the shape ``fn``'s return annotation promises: its class, or for a
    generic such as ``list[Account]`` or ``dict[str, int]`` the container's class and (for a
    sequence of a class) each item's; ``X | None`` accepts either. What it cannot check (an
    annotation it cannot resolve, a type variable, ``Any``) accepts anything."""
    try:
        hint = typing.get_type_hints(fn).get("return", Any)
    except Exception:  # a name only imported for the type checker: nothing to check against
        return lambda _value: True
    return _checker(hint)


def _checker(hint: Any) -> Callable[[Any], bool]:
    if hint is None or hint is type(None):
        return lambda value: value is None
    if isinstance(hint, type) and hint is not Any:
        return lambda value: isinstance(value, hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_checker(arg) for arg in args]
        return lambda value: any(check(value) for check in options)
    if isinstance(origin, type):
        container: type = origin
        homogeneous = (origin in (list, set, frozenset) and len(args) == 1) or (
            origin is tuple and len(args) == 2 and args[1] is Ellipsis
        )
        if homogeneous and isinstance(args[0], type):
            member: type = args[0]  # a collection of a class: list[X], tuple[X, ...]

            def fits(value: Any) -> bool:
                return isinstance(value, container) and all(
                    isinstance(v, member) for v in cast(Iterable[Any], value)
                )

            return fits
        return lambda value: isinstance(value, container)
    return lambda _value: True


def key_for(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The cache key a ``@cacheable`` function (possibly wrapped again) would use for these
    arguments, at the namespace's current version. For tests, tools and benchmarks."""
    current: Any = fn
    while current is not None:
        cache_key = current.__dict__.get("cache_key") if hasattr(current, "__dict__") else None
        if callable(cache_key):
            return str(cache_key(*args, **kwargs))
        current = getattr(current, "__wrapped__", None)
    raise TypeError(f"{fn!r} is not @cacheable")
