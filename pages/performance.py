"""Performance: cache hit rate per level, latency percentiles, throughput, errors, health."""

import math

import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
st.title("Performance")

with ui.guard():
    snap = services.performance(ctx, 300.0)
    st.caption("Last 5 minutes, this process")

    def ms(value: float) -> str:
        return "—" if math.isnan(value) else f"{value:,.1f} ms"

    cols = st.columns(4)
    for col, level in zip(cols[:2], ("l1", "l2"), strict=True):
        rate = snap.hit_rate(level)
        col.metric(f"{level.upper()} hit rate", "—" if rate is None else f"{rate:.0%}")
    cols[2].metric("Throughput", f"{snap.pages.per_minute:,.1f} /min", help="Page runs per minute.")
    cols[3].metric("Error rate", f"{snap.services.error_rate:.1%}", help="Failed service calls.")
    lat = st.columns(3)
    for col, (label, summary) in zip(
        lat, (("Pages", snap.pages), ("Service calls", snap.services), ("SQL", snap.queries)), strict=True
    ):
        col.metric(f"{label} p50", ms(summary.p50_ms))
        col.caption(f"p95 {ms(summary.p95_ms)} · p99 {ms(summary.p99_ms)} · {summary.count:,} calls")

    health = services.database_health(ctx)
    st.subheader("Health")
    badge = "🟢" if health.ok else "🔴"
    rt = f"{health.round_trip_ms:.1f} ms" if health.round_trip_ms is not None else "—"
    st.write(f"{badge} Database ({health.backend}): {health.message}, round trip {rt}")
    if health.pool is not None:
        p = health.pool
        st.write(f"Pool: {p.checked_out} checked out of {p.size}, overflow {p.overflow}/{p.max_overflow}")
