"""Scaling: the rules engine's recommendation and the reasons behind it."""

import pandas as pd
import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
st.title("Scaling")

with ui.guard():
    decision = services.recommendation(ctx)
    labels = {"scale_up": "Scale up", "scale_down": "Scale down", "hold": "Hold"}
    cols = st.columns(3)
    cols[0].metric("Recommendation", labels[decision.action])
    cols[1].metric("Replicas", f"{decision.current_replicas} → {decision.desired_replicas}")
    cols[2].metric("Cooldown left", f"{decision.cooldown_left_s:.0f} s")
    st.info(decision.reason)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Metric": r.metric,
                    "Observed": r.observed,
                    "Scale-up above": r.up_threshold,
                    "Scale-down below": r.down_threshold,
                    "Verdict": r.verdict,
                }
                for r in decision.rules
            ]
        ),
        hide_index=True,
        width="stretch",
    )
