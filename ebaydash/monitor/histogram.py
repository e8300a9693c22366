"""Fixed latency histogram: the bucket bounds every process agrees on, and percentiles from counts.

Processes share latencies as bucket counts (they add up across replicas; raw values would not), so
every process must use the same bounds. They are geometric: bucket ``i`` holds durations in
``[FIRST_BOUND_S × GROWTH**(i-1), FIRST_BOUND_S × GROWTH**i)``; bucket 0 holds everything below
``FIRST_BOUND_S`` (1 µs) and the last bucket everything from ``LAST_BOUND_S`` (about 2 minutes) up.

**Error.** A percentile read from the histogram is the geometric middle of the bucket that holds
the sample at that rank (numpy's ``inverted_cdf`` definition), clamped to the largest duration seen.
For any sample inside the bounded range that middle is within ``RELATIVE_ERROR`` (±11.8 %) of the
sample's true value. Outside the range: below 1 µs the estimate is 0.5 µs; above the last bound it
is the largest duration seen.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping

FIRST_BOUND_S = 1e-6
GROWTH = 1.25
BUCKETS = 85  # bounds reach FIRST_BOUND_S × 1.25**83 ≈ 112 s; one more bucket for anything above
BOUNDS_S: tuple[float, ...] = tuple(FIRST_BOUND_S * GROWTH**i for i in range(BUCKETS - 1))
LAST_BOUND_S = BOUNDS_S[-1]
RELATIVE_ERROR = math.sqrt(GROWTH) - 1  # 0.118


def bucket_of(seconds: float) -> int:
    """The bucket index that holds ``seconds``."""
    # bucket i is [BOUNDS_S[i-1], BOUNDS_S[i]): exactly what bisect_right counts, in C
    return bisect_right(BOUNDS_S, seconds)


def bucket_range(index: int) -> tuple[float, float]:
    """``[low, high)`` of bucket ``index`` in seconds (``high`` is ``inf`` for the last)."""
    low = 0.0 if index == 0 else BOUNDS_S[index - 1]
    high = math.inf if index >= BUCKETS - 1 else BOUNDS_S[index]
    return low, high


def _representative(index: int, max_s: float) -> float:
    low, high = bucket_range(index)
    if index == 0:
        value = FIRST_BOUND_S / 2
    elif math.isinf(high):
        value = max_s
    else:
        value = math.sqrt(low * high)
    return min(value, max_s) if max_s > 0 else value


def percentile_from_counts(counts: Mapping[int, int], q: float, *, max_s: float) -> float:
    """The ``q``-th percentile (0–100) in seconds from bucket counts; NaN when there are none."""
    total = sum(counts.values())
    if total <= 0:
        return math.nan
    rank = max(1, math.ceil(total * q / 100))  # the sample at this 1-based rank is the answer
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return _representative(index, max_s)
    return _representative(max(counts), max_s)
