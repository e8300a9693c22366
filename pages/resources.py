"""Resources: CPU and memory of this process and the machine over time."""

import pandas as pd
import plotly.express as px
import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
st.title("Resources")

with ui.guard():
    history = services.resource_history(ctx)
    latest = history[-1]
    cols = st.columns(4)
    cols[0].metric("Process memory", f"{latest.process_rss_bytes / 2**20:,.0f} MiB")
    cols[1].metric("Process CPU", f"{latest.process_cpu_percent:.0f} %")
    cols[2].metric("System memory", f"{latest.system_memory_percent:.0f} %")
    cols[3].metric("System CPU", f"{latest.system_cpu_percent:.0f} %")
    frame = pd.DataFrame(
        {
            "time": [pd.Timestamp(s.at, unit="s", tz="UTC") for s in history],
            "process CPU %": [s.process_cpu_percent for s in history],
            "system CPU %": [s.system_cpu_percent for s in history],
            "system memory %": [s.system_memory_percent for s in history],
        }
    )
    st.plotly_chart(
        px.line(frame, x="time", y=["process CPU %", "system CPU %", "system memory %"]), width="stretch"
    )
