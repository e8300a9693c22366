"""The tiered cache against a plain dict, driven by hypothesis with a clock it controls.

The model is what a caller may rely on: a value set with TTL ``t`` at time ``s`` is returned
until ``s + t`` and never after; ``get_or_create`` calls its creator exactly when the model has no
value; invalidating a namespace hides every key in it and no other. Underneath, L1 is small (so
it evicts), has a shorter TTL than L2, and L2 is a second in-memory level on the same clock, so
every path — L1 hit, L2 hit with copy back to L1, eviction, expiry — is exercised.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ebaydash.cache import NO_VALUE
from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.tiered import TieredCache
from tests.cache_support import FakeClock

KEYS_LIST = ["a", "b", "c", "d"]
NAMESPACES_LIST = ["acct:1", "acct:2", "global"]
NAMES_LIST = ["kpis", "page"]
KEYS = st.sampled_from(KEYS_LIST)
NAMESPACES = st.sampled_from(NAMESPACES_LIST)
NAMES = st.sampled_from(NAMES_LIST)
# falsy and None values on purpose: they must be cached like any other
VALUES = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["", "x", "y"]), st.just([]), st.just(0.0))
TTLS = st.sampled_from([1.0, 2.0, 5.0, 10.0])
STEPS = st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.9, 5.0, 11.0])


class TieredCacheMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.l1 = MemoryBackend(max_entries=3, clock=self.clock, stale_s=5.0)
        self.l2 = MemoryBackend(max_entries=10_000, clock=self.clock)
        self.cache = TieredCache(self.l1, self.l2, default_ttl=10.0, l1_ttl=2.0, clock=self.clock)
        self.model: dict[str, tuple[Any, float]] = {}  # key → (value, expires at)
        self.model_versions: dict[str, int] = {}

    # -- the model -----------------------------------------------------------------------------

    def expected(self, key: str) -> Any:
        entry = self.model.get(key)
        if entry is None or entry[1] <= self.clock.now:
            return NO_VALUE
        return entry[0]

    def scoped(self, namespace: str, name: str) -> tuple[str, str]:
        """(the cache's key, the model's key) for ``name`` in ``namespace``."""
        return self.cache.scoped(
            namespace, name
        ), f"{namespace}@{self.model_versions.get(namespace, 0)}:{name}"

    # -- rules ---------------------------------------------------------------------------------

    @rule(key=KEYS, value=VALUES, ttl=TTLS)
    def set(self, key: str, value: Any, ttl: float) -> None:
        self.cache.set(key, value, ttl)
        self.model[key] = (value, self.clock.now + ttl)

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        got = self.cache.get(key)
        want = self.expected(key)
        assert got == want and type(got) is type(want), (key, got, want)

    @rule(key=KEYS, value=VALUES, ttl=TTLS)
    def get_or_create(self, key: str, value: Any, ttl: float) -> None:
        self._get_or_create(key, key, value, ttl, refresh=False)

    @rule(key=KEYS, value=VALUES, ttl=TTLS)
    def refresh(self, key: str, value: Any, ttl: float) -> None:
        self._get_or_create(key, key, value, ttl, refresh=True)

    @rule(namespace=NAMESPACES, name=NAMES, value=VALUES, ttl=TTLS)
    def get_or_create_scoped(self, namespace: str, name: str, value: Any, ttl: float) -> None:
        cache_key, model_key = self.scoped(namespace, name)
        self._get_or_create(cache_key, model_key, value, ttl, refresh=False)

    @rule(namespace=NAMESPACES)
    def invalidate(self, namespace: str) -> None:
        self.cache.invalidate(namespace)
        self.model_versions[namespace] = self.model_versions.get(namespace, 0) + 1

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self.cache.delete(key)
        self.model.pop(key, None)

    @rule(seconds=STEPS)
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def _get_or_create(
        self, cache_key: str, model_key: str, value: Any, ttl: float, *, refresh: bool
    ) -> None:
        calls: list[None] = []

        def creator() -> Any:
            calls.append(None)
            return value

        got = self.cache.get_or_create(cache_key, creator, ttl, refresh=refresh)
        want = NO_VALUE if refresh else self.expected(model_key)
        if want is NO_VALUE:
            assert calls == [None], "the creator must run when nothing valid is cached"
            assert got == value and type(got) is type(value)
            self.model[model_key] = (value, self.clock.now + ttl)
        else:
            assert calls == [], "the creator must not run while a valid value is cached"
            assert got == want and type(got) is type(want), (cache_key, got, want)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def every_key_reads_as_the_model_says(self) -> None:
        # reading is allowed at any time, and it copies L2 entries into L1: checking every key
        # after every step catches a copy that outlives its original
        for key in KEYS_LIST:
            got, want = self.cache.get(key), self.expected(key)
            assert got == want and type(got) is type(want), (key, got, want)
        for namespace in NAMESPACES_LIST:
            for name in NAMES_LIST:
                cache_key, model_key = self.scoped(namespace, name)
                got, want = self.cache.get(cache_key), self.expected(model_key)
                assert got == want and type(got) is type(want), (cache_key, got, want)

    @invariant()
    def l1_stays_within_its_bounds(self) -> None:
        assert len(self.l1) <= self.l1.max_entries
        assert self.l1.bytes_used <= self.l1.max_bytes


TieredCacheMachine.TestCase.settings = settings(max_examples=400, stateful_step_count=30, deadline=None)
test_tiered_cache_behaves_like_a_dict_with_expiry = TieredCacheMachine.TestCase
