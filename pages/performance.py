"""Performance: cache hit rate per level, latency percentiles, throughput, errors, slow queries, health."""

import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
viewer = ui.viewer()
st.title("Performance")
window = st.segmented_control(
    "Window",
    options=list(ui.WINDOW_LABELS),
    format_func=lambda window: ui.WINDOW_LABELS[window],
    default=300,
    required=True,
    key="performance_window",
)
# "Simulate visitors" sets this filter through session state; a widget that also had a default would
# have its value set two ways (Streamlit logs a warning), so the default lives in session state too
st.session_state.setdefault("performance_traffic", "real")
traffic = st.segmented_control(
    "Traffic",
    options=list(services.TRAFFIC_LABELS),
    format_func=lambda kind: services.TRAFFIC_LABELS[kind],
    required=True,
    key="performance_traffic",
    help="Simulated visitors run the services but render no page, so their figures are kept apart.",
)


@st.fragment(run_every=ctx.settings.monitor_refresh_s)
def demo_traffic() -> None:
    with ui.guard():
        status = services.demo_traffic(ctx, viewer)
        text, action = st.columns([5, 1], vertical_alignment="center")
        if status.running:
            text.info(
                f"Simulating visitors: {status.page_views:,} page views so far, "
                f"{status.seconds_left:.0f} s left.",
                icon=":material/groups:",
            )
            if action.button("Stop", key="traffic_stop", icon=":material/stop:", width="stretch"):
                services.stop_demo_traffic(ctx, viewer)
                st.rerun()
        else:
            text.caption(
                status.last_message
                or "Nobody visiting? Simulate a minute of sellers using the overview, orders and "
                "order pages, through the same services, and watch the figures below move."
            )
            if action.button(
                "Simulate visitors",
                key="traffic_start",
                icon=":material/play_arrow:",
                width="stretch",
                # show what was asked for: the simulated figures (the filter switches back to real)
                on_click=lambda: st.session_state.update(performance_traffic="simulated"),
            ):
                services.start_demo_traffic(ctx, viewer)
                st.rerun()


@st.fragment(run_every=ctx.settings.monitor_refresh_s)
def live() -> None:
    with ui.guard():
        report = services.performance_report(ctx, viewer, float(window or 300), traffic or "real")
        snap = report.snapshot
        st.caption(
            f"Last {ui.WINDOW_LABELS[int(snap.window_s)]}, {report.scope_label}, "
            f"{services.TRAFFIC_LABELS[traffic or 'real'].lower()}; "
            f"refreshes every {ctx.settings.monitor_refresh_s:g} s."
        )
        if snap.note:
            st.warning(snap.note, icon="🐢")
        replica = ui.replica_note(report.replica)
        if replica:
            st.warning(replica, icon=":material/database:")
        tiles = st.columns(5)
        tiles[0].metric(
            "L1 hit rate", ui.percent(report.l1_hit_rate), help="Lookups answered by the in-process cache."
        )
        tiles[1].metric(
            "L2 hit rate",
            ui.percent(report.l2_hit_rate),
            help="Lookups answered by the shared Redis cache."
            if report.shared_cache
            else "No shared cache in this process: set EBAYDASH_REDIS_URL to add one.",
        )
        tiles[2].metric("Requests", f"{report.requests_per_minute:,.0f}/min", help="Page runs per minute.")
        tiles[3].metric(
            "Error rate", ui.percent(report.error_rate, 1), help="Share of service calls that failed."
        )
        tiles[4].metric(
            "Page p95", ui.ms(snap.pages.p95_ms), help="95 % of page runs were at least this fast."
        )

        timeline = ui.chart_frame(report.timeline)
        left, right = st.columns(2)
        # no shared cache: no L2 line at all (a flat 0 % would read as a cache that never hits)
        levels = ["L1 hit rate", "L2 hit rate"] if report.shared_cache else ["L1 hit rate"]
        hit = ui.lines(
            timeline,
            "time",
            levels,
            title="Cache hit rate per level" + ("" if report.shared_cache else " (no shared cache)"),
            markers=True,
        )
        ui.over_time(hit, ui.percent_axis())
        left.plotly_chart(hit, width="stretch", key="chart_hits")
        flow = ui.lines(
            timeline, "time", ["Page runs/min", "Service calls/min", "SQL statements/min"], title="Throughput"
        )
        ui.over_time(flow, yaxis_title="per minute")
        right.plotly_chart(flow, width="stretch", key="chart_throughput")
        left, right = st.columns(2)
        latency = ui.lines(timeline, "time", ["Page p95 ms"], title="Page latency (p95)", markers=True)
        ui.over_time(latency, ui.duration_axis())
        left.plotly_chart(latency, width="stretch", key="chart_latency")
        errors = ui.bars(timeline, "time", "Error rate", title="Error rate (failed service calls)")
        ui.over_time(errors, {"tickformat": ".0%", "rangemode": "tozero"})
        right.plotly_chart(errors, width="stretch", key="chart_errors")
        if not timeline.empty and not (timeline["Error rate"].fillna(0) > 0).any():
            # bars of height 0 draw nothing: an empty chart would read as missing data
            right.caption("No failed service calls in this window: every bar is at 0 %.")

        st.subheader("Latency")
        st.dataframe(ui.latency_table(snap), hide_index=True, width="stretch")
        if not report.percentiles_exact:
            st.caption("Percentiles are read from shared histograms: within ±12 % of the exact value.")
        st.subheader("Queries")
        st.dataframe(ui.named_table(snap, "query"), hide_index=True, width="stretch")
        st.subheader(f"Slow statements (over {report.slow_query_ms:g} ms)")
        if not snap.slow_queries:
            st.caption("None in this window.")
        else:
            st.dataframe(
                ui.slow_table(snap),
                hide_index=True,
                width="stretch",
                column_config={"Statement": st.column_config.TextColumn(width="large")},
            )


@st.fragment(run_every=max(ctx.settings.monitor_refresh_s, 10.0))
def health() -> None:
    st.subheader("Health")
    with ui.guard():
        ui.health_badges(services.health_checks(ctx, viewer))


demo_traffic()
live()
health()
