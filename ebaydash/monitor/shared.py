"""Every Redis call the monitor makes lives here: shared metric buckets, slow-statement texts and
the replicas' latest resource samples, over the process's one
:class:`~ebaydash.redis_connection.RedisConnection`.

Layout (``P`` is ``Settings.metrics_prefix``; ``S`` a bucket's start in epoch seconds):

- ``P:b:S``   hash, one per time bucket. Fields ``kind|name|stat`` where stat is ``n`` (count),
  ``e`` (errors), ``us`` (total microseconds), ``r`` (rows) or ``h<i>`` (histogram bucket ``i``).
  Written with HINCRBY, so every replica's counts add up.
- ``P:x:S``   sorted set, member ``kind|name``, score = the worst duration in microseconds
  (``ZADD GT`` keeps the largest).
- ``P:shapes`` hash: slow-statement id → normalised SQL text.
- ``P:replicas`` hash: replica id (``host:pid``, :func:`~ebaydash.monitor.state.replica_id`) →
  JSON of its latest resource sample (:class:`~ebaydash.monitor.resources.ResourceSample`'s fields)
  and its ``EBAYDASH_REPLICA_NAME`` (:data:`REPLICA_NAME_FIELD`, empty when unset). Only processes
  serving the app publish here (see :func:`~ebaydash.monitor.wiring.build_sampler`), so its fresh
  entries are the replicas running: :func:`distinct_replicas` counts them.
- ``P:batch:ID`` a marker that push ``ID`` was applied, so a retried push is not counted twice.

Pushes run as one Lua script: atomic, and idempotent per batch id.

Bucket keys expire after the retention, so Redis holds a bounded amount whatever the traffic.
A key found holding another type than its own (written by something else) is deleted, by the
push or publish that meets it (in the same script) or by the read that does, and written anew:
never given a fresh expiry while it stays unusable.
Calls fail open: the connection's short timeouts, no retries, and its breaker (shared with the
cache) skips Redis for ``breaker_reset_s`` after a failure, so a dead server costs one timeout per
period, not one per call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ebaydash.monitor.buckets import RETENTION_S, Aggregate, Buckets, SeriesKey
from ebaydash.redis_connection import (
    Client,
    Ping,
    RedisConnection,
    RedisRefused,
    RedisSkipped,
    RedisUnavailable,
    ResponseError,
)

log = logging.getLogger(__name__)

SEPARATOR = "|"
#: The field of a published resource sample holding the replica's ``EBAYDASH_REPLICA_NAME``.
REPLICA_NAME_FIELD = "replica_name"
T = TypeVar("T")


class SharedUnavailable(Exception):
    """Redis did not answer (or the breaker is open); callers fall back to local numbers."""


# KEYS[1] marks the batch as applied; ARGV[1] is the retention; ARGV[2] the type each other key must
# have (one letter per key from KEYS[2]: h = hash, z = sorted set); then (op, key number, field,
# value) quadruples: h = HINCRBY, z = ZADD GT (keep the worst), s = HSET. All or nothing, and only
# once. A key of another type (written by something else) is deleted first, so the push repairs it
# instead of failing on it forever while EXPIRE keeps it alive.
_PUSH = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local repaired = 0
for k = 2, #KEYS do
  local want = (string.sub(ARGV[2], k - 1, k - 1) == 'z') and 'zset' or 'hash'
  local found = redis.call('TYPE', KEYS[k]).ok
  if found ~= 'none' and found ~= want then
    redis.call('DEL', KEYS[k])
    repaired = repaired + 1
  end
end
for i = 3, #ARGV, 4 do
  local op, key, field, value = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
  if op == 'h' then
    redis.call('HINCRBY', key, field, value)
  elseif op == 'z' then
    redis.call('ZADD', key, 'GT', value, field)
  else
    redis.call('HSET', key, field, value)
  end
end
for k = 2, #KEYS do
  redis.call('EXPIRE', KEYS[k], ARGV[1])
end
return 1 + repaired
"""

# HSET a field of the hash KEYS[1] and renew its expiry (ARGV: field, value, seconds); a key of
# another type is deleted first. Returns 1 when it had to repair the key.
_HSET_REPAIRING = """
local found = redis.call('TYPE', KEYS[1]).ok
local repaired = 0
if found ~= 'none' and found ~= 'hash' then
  redis.call('DEL', KEYS[1])
  repaired = 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return repaired
"""


def _text(value: bytes | str) -> str:
    """A reply as text (the shared client returns bytes: the cache's values are binary)."""
    return value.decode() if isinstance(value, bytes) else value


def _clean(name: str) -> str:
    return name.replace(SEPARATOR, "/")


class SharedMetrics:
    def __init__(
        self, redis: RedisConnection, *, prefix: str = "ebaydash:metrics", retention_s: int = RETENTION_S + 60
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.retention_s = retention_s

    @classmethod
    def connect(cls, url: str, *, timeout_ms: int, prefix: str, breaker_reset_s: float) -> SharedMetrics:
        """Over a connection of its own (tools and tests; the app shares the context's)."""
        return cls(RedisConnection(url, timeout_s=timeout_ms / 1000, reset_s=breaker_reset_s), prefix=prefix)

    @property
    def breaker_open(self) -> bool:
        return not self.redis.available

    def _call(self, what: str, fn: Callable[[Client], T]) -> T:
        try:
            return self.redis.run(fn)
        except RedisSkipped as exc:
            raise SharedUnavailable(
                f"skipping Redis after an error: {self.redis.breaker.last_error}"
            ) from exc
        except (RedisUnavailable, RedisRefused) as exc:
            log.warning(
                "shared metrics: %s failed (%s); retrying in %.0f s", what, exc, self.redis.breaker.reset_s
            )
            raise SharedUnavailable(str(exc)) from exc

    # -- metric buckets ------------------------------------------------------------------------

    def _bucket_key(self, start: int) -> str:
        return f"{self.prefix}:b:{start}"

    def _max_key(self, start: int) -> str:
        return f"{self.prefix}:x:{start}"

    def push(
        self,
        buckets: Mapping[int, Mapping[SeriesKey, Aggregate]],
        shapes: Mapping[str, str],
        *,
        batch_id: str,
    ) -> bool:
        """Add ``buckets`` to the shared counts in one atomic script. False (never raises) on
        failure. Pushing the same ``batch_id`` again is a no-op, so a push that timed out but
        reached Redis is not counted twice when it is retried."""
        keys: list[str] = [f"{self.prefix}:batch:{batch_id}"]
        index: dict[str, int] = {}
        ops: list[str | int] = []

        def key_no(key: str) -> int:
            if key not in index:
                keys.append(key)
                index[key] = len(keys)  # Lua's KEYS are 1-based
            return index[key]

        for start, series in buckets.items():
            bucket, worst = key_no(self._bucket_key(start)), key_no(self._max_key(start))
            for (kind, name), agg in series.items():
                member = f"{_clean(kind)}{SEPARATOR}{_clean(name)}"
                stats: list[tuple[str, int]] = [("n", agg.count), ("us", round(agg.total_s * 1e6))]
                if agg.errors:
                    stats.append(("e", agg.errors))
                if agg.rows:
                    stats.append(("r", agg.rows))
                stats.extend((f"h{i}", n) for i, n in agg.hist.items())
                for stat, value in stats:
                    ops += ["h", bucket, f"{member}{SEPARATOR}{stat}", value]
                ops += ["z", worst, member, round(agg.max_s * 1e6)]
        if shapes:
            shapes_key = key_no(f"{self.prefix}:shapes")
            for shape_id, text in shapes.items():
                ops += ["s", shapes_key, shape_id, text]
        if len(keys) == 1:
            return True
        types = "".join("z" if key.startswith(f"{self.prefix}:x:") else "h" for key in keys[1:])
        try:
            applied = self._call(
                "push", lambda c: c.register_script(_PUSH)(keys=keys, args=[self.retention_s, types, *ops])
            )
        except SharedUnavailable:
            return False
        if int(applied or 0) > 1:
            log.warning("shared metrics: repaired %d key(s) of the wrong type", int(applied) - 1)
        return True

    def read(self, starts: Sequence[int]) -> Buckets:
        """Every replica's counts for the buckets starting at ``starts``, merged."""

        def fetch(c: Client) -> list[Any]:
            pipe = c.pipeline(transaction=False)
            for start in starts:
                pipe.hgetall(self._bucket_key(start))
                pipe.zrange(self._max_key(start), 0, -1, withscores=True)
            return list(pipe.execute(raise_on_error=False))

        replies = self._call("read", fetch)
        keys = [key for start in starts for key in (self._bucket_key(start), self._max_key(start))]
        self._repair([key for key, reply in zip(keys, replies, strict=True) if isinstance(reply, Exception)])
        out: Buckets = {}
        for i, start in enumerate(starts):
            fields: dict[bytes, bytes] = _or_empty(replies[2 * i], {})
            worst: list[tuple[bytes, float]] = _or_empty(replies[2 * i + 1], [])
            if not fields:
                continue
            out[start] = _decode_bucket(
                {_text(k): _text(v) for k, v in fields.items()}, [(_text(m), x) for m, x in worst]
            )
        return out

    def shape(self, shape_id: str) -> str | None:
        key = f"{self.prefix}:shapes"
        try:
            value = self._call("shape", lambda c: _or_error(lambda: c.hget(key, shape_id)))
        except SharedUnavailable:
            return None
        if isinstance(value, Exception):
            self._repair([key])
            return None
        return _text(value) if value is not None else None

    # -- replicas' resource samples -------------------------------------------------------------

    def publish_sample(self, replica: str, sample: Mapping[str, Any]) -> bool:
        """Store ``sample`` (JSON-able, with ``at`` in epoch seconds) as ``replica``'s latest, in
        place of its previous one. False (never raises) when Redis does not answer."""
        key = f"{self.prefix}:replicas"

        def send(c: Client) -> Any:
            # one script, so a key of the wrong type is replaced, not given a new expiry by a
            # pipeline's EXPIRE after its HSET failed
            return c.register_script(_HSET_REPAIRING)(
                keys=[key], args=[replica, json.dumps(dict(sample)), self.retention_s]
            )

        try:
            repaired = self._call("publish", send)
        except SharedUnavailable:
            return False
        if repaired:
            log.warning("shared metrics: repaired %s, which held the wrong type", key)
        return True

    def replica_samples(self, *, max_age_s: float, now: float | None = None) -> dict[str, dict[str, Any]]:
        """The latest sample of every replica that reported within ``max_age_s`` (wall clock)."""
        key = f"{self.prefix}:replicas"
        found = self._call("replicas", lambda c: _or_error(lambda: c.hgetall(key)))
        if isinstance(found, Exception):
            self._repair([key])
            return {}
        raw = {_text(replica): _text(text) for replica, text in found.items()}
        now = time.time() if now is None else now
        fresh: dict[str, dict[str, Any]] = {}
        gone: list[str] = []
        for replica, text in raw.items():
            try:
                sample = json.loads(text)
                at = float(sample["at"])
            except (ValueError, KeyError, TypeError):
                gone.append(replica)
                continue
            if now - at <= max_age_s:
                fresh[replica] = sample
            elif now - at > self.retention_s:
                gone.append(replica)
        if gone:  # replicas that stopped long ago: forget them
            with contextlib.suppress(SharedUnavailable):
                self._call("forget", lambda c: c.hdel(key, *gone))
        return fresh

    def _repair(self, keys: Sequence[str]) -> None:
        """Delete ``keys``, which hold another type than the one they should: what wrote them was
        not ebaydash (or a version with another layout). The next write recreates them."""
        if not keys:
            return
        log.warning("shared metrics: deleting %s, which held the wrong type", ", ".join(keys))
        with contextlib.suppress(SharedUnavailable):
            self._call("repair", lambda c: c.delete(*keys))

    # -- health --------------------------------------------------------------------------------

    def ping(self) -> Ping:
        return self.redis.ping()

    def close(self) -> None:
        self.redis.close()


def distinct_replicas(samples: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """One sample per replica, from ``samples`` (replica id → sample with a numeric ``at``, as
    :meth:`SharedMetrics.replica_samples` returns them); the result keeps the ids it kept.

    Samples sharing a non-empty :data:`REPLICA_NAME_FIELD` are one replica, and its newest sample
    stands for it: a cluster slot or a pod restarted under its name gets a new pid, and the old
    process's sample stays fresh for the freshness window, which would count it twice. A sample
    without a name (a replica started without ``EBAYDASH_REPLICA_NAME``, or an older ebaydash)
    is a replica of its own."""
    out: dict[str, Mapping[str, Any]] = {}
    named: dict[str, tuple[float, str]] = {}  # name -> (at, id) of its newest sample
    for replica, sample in samples.items():
        name = sample.get(REPLICA_NAME_FIELD)
        if not isinstance(name, str) or not name:
            out[replica] = sample
            continue
        # the id breaks ties, so the same samples always give the same answer
        named[name] = max(named.get(name, (float("-inf"), "")), (float(sample["at"]), replica))
    for _at, replica in named.values():
        out[replica] = samples[replica]
    return out


def _or_error(call: Callable[[], T]) -> T | ResponseError:
    """``call()``, or the error Redis answered with when a key is of the wrong type (Redis is up,
    the key is repaired). Any other refusal (no such database, a command not allowed) is raised:
    deleting keys would not mend it."""
    try:
        return call()
    except ResponseError as exc:
        if not str(exc).startswith("WRONGTYPE"):
            raise
        return exc


def _or_empty(reply: Any, empty: Any) -> Any:
    """A pipeline's reply, or ``empty`` where Redis answered with an error (a key of the wrong type)."""
    return empty if isinstance(reply, Exception) else reply


def _decode_bucket(
    fields: Mapping[str, str], worst: Sequence[tuple[str, float]]
) -> dict[SeriesKey, Aggregate]:
    series: dict[SeriesKey, Aggregate] = {}

    def agg_for(kind_name: str) -> Aggregate | None:
        kind, sep, name = kind_name.partition(SEPARATOR)
        if not sep:
            return None
        key = (kind, name)
        agg = series.get(key)
        if agg is None:
            agg = series[key] = Aggregate()
        return agg

    for field, value in fields.items():
        kind_name, sep, stat = field.rpartition(SEPARATOR)
        agg = agg_for(kind_name) if sep else None
        if agg is None:
            continue
        number = int(value)
        if stat == "n":
            agg.count = number
        elif stat == "e":
            agg.errors = number
        elif stat == "us":
            agg.total_s = number / 1e6
        elif stat == "r":
            agg.rows = number
        elif stat.startswith("h") and stat[1:].isdigit():
            agg.hist[int(stat[1:])] = number
    for member, score in worst:
        agg = agg_for(member)
        if agg is not None:
            agg.max_s = float(score) / 1e6
    return {k: a for k, a in series.items() if a.count}
