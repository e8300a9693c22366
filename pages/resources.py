"""Resources: CPU and memory of this process and the machine over time, and the alert lines."""

import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
viewer = ui.viewer()
st.title("Resources")


@st.fragment(run_every=ctx.settings.monitor_refresh_s)
def live() -> None:
    with ui.guard():
        report = services.resource_report(ctx, viewer)
        latest = report.latest
        st.caption(
            f"This process and its machine, sampled every {report.interval_s:g} s; "
            f"{ui.plural(len(report.history), 'sample')} kept."
        )
        for alert in report.alerts:
            st.error(alert.message, icon="🚨")
        tiles = st.columns(6)
        tiles[0].metric("Process memory", f"{latest.process_rss_bytes / 2**20:,.0f} MiB")
        tiles[1].metric("Process CPU", ui.percent(latest.process_cpu_percent / 100))
        tiles[2].metric("Threads", f"{latest.process_threads}")
        tiles[3].metric("System memory", ui.percent(latest.system_memory_percent / 100))
        tiles[4].metric("System CPU", ui.percent(latest.system_cpu_percent / 100))
        tiles[5].metric("Load (1 min)", f"{latest.load_1m:.2f}")

        frame = ui.chart_frame(report.history)
        left, right = st.columns(2)
        cpu = ui.lines(frame, "time", ["Process CPU %", "System CPU %"], title="CPU")
        ui.over_time(cpu, {"ticksuffix": "%"})
        left.plotly_chart(cpu, width="stretch", key="chart_cpu")
        memory = ui.lines(frame, "time", ["Process memory MiB"], title="Process memory (RSS)")
        ui.over_time(memory, {"ticksuffix": " MiB"})
        right.plotly_chart(memory, width="stretch", key="chart_rss")
        system = ui.lines(frame, "time", ["System memory %"], title="System memory")
        ui.over_time(system, ui.percent_axis(fraction=False))
        left.plotly_chart(system, width="stretch", key="chart_system_memory")
        load = ui.lines(frame, "time", ["Load (1 min)"], title="Load average")
        ui.over_time(load)
        right.plotly_chart(load, width="stretch", key="chart_load")

        st.subheader("Replicas")
        st.dataframe(ui.replicas_table(report.replicas), hide_index=True, width="stretch")
        with st.expander(f"Alert log ({len(report.alert_log)})"):
            if not report.alert_log:
                st.caption("No limit crossed since this process started.")
            for event in report.alert_log:
                when = ui.clock_time(event.at)
                (st.warning if event.raised else st.success)(f"{when} — {event.message}")


live()
