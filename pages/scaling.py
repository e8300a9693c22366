"""Scaling: the rules engine's recommendation, its reasons, history, and a what-if panel."""

import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
viewer = ui.viewer()
st.title("Scaling")


@st.fragment(run_every=ctx.settings.monitor_refresh_s)
def live() -> int | None:
    """Draw the recommendation; the replicas it counted as running (None when it failed)."""
    counted = None
    with ui.guard():
        report = services.scaling_report(ctx, viewer)
        decision = report.decision
        counted = report.replicas_now.count
        if report.state_note:
            st.warning(report.state_note, icon="⚠️")
        tiles = st.columns(3)
        tiles[0].metric("Recommendation", decision.label)
        tiles[1].metric("Replicas", f"{decision.current_replicas} → {decision.desired_replicas}")
        # without the shared state the cooldown is unknown, not over
        cooldown = "—" if report.state_note else f"{decision.cooldown_left_s:,.0f} s"
        tiles[2].metric("Cooldown left", cooldown, help="Unknown while the shared state cannot be read.")
        # a rule's name can be long ("stabilisation window"): a caption wraps, a tile cuts it off
        st.caption(
            f"**Deciding rule:** {decision.rule.replace('_', ' ')} · "
            f"**Replicas now:** {report.replicas_now.label}"
        )
        show = {"scale_up": st.warning, "scale_down": st.success}.get(decision.action, st.info)
        show(decision.reason)
        st.dataframe(ui.rules_table(decision), hide_index=True, width="stretch")
        st.caption(
            "Inputs: average page response time and requests per minute per replica over the last "
            "5 minutes, and memory use. Run `ebaydash recommend` to act on a recommendation."
        )
        st.subheader("History")
        if report.state_note:
            # not "none yet": the warning above says the history cannot be read
            st.caption("Unknown while the shared scaling state cannot be read.")
        elif report.recent.empty:
            st.caption("No recommendation remembered in the stabilisation window yet.")
        else:
            recent = ui.chart_frame(report.recent)
            chart = ui.lines(
                recent,
                "time",
                "Recommended replicas",
                markers=True,
                line_shape="hv",
                title=f"Recommendations, last {report.policy.stabilisation_s / 60:g} min",
            )
            # whole replicas: integer ticks (never 9.2)
            ui.over_time(chart, ui.count_axis(recent["Recommended replicas"].max()))
            st.plotly_chart(chart, width="stretch", key="chart_recommendations")
        if report.actions:
            ui.actions_history(report.actions)
        elif not report.state_note:
            st.caption("No scaling action taken yet.")
    return counted


# the what-if starts from the replicas the recommendation counted, not EBAYDASH_REPLICAS alone
replicas_now = live() or ctx.settings.replicas

st.subheader("What if?")
with ui.guard():
    base = services.policy(ctx, viewer)
    with st.form("what_if"):
        cols = st.columns(3)
        values = {
            "scale_up_response_ms": cols[0].number_input(
                "Scale up above (ms)", min_value=1.0, value=base.scale_up_response_ms, step=100.0
            ),
            "scale_down_response_ms": cols[0].number_input(
                "Scale down below (ms)", min_value=1.0, value=base.scale_down_response_ms, step=50.0
            ),
            "scale_up_throughput_per_min": cols[1].number_input(
                "Scale up above (requests/min)", min_value=1.0, value=base.scale_up_throughput_per_min
            ),
            "scale_down_throughput_per_min": cols[1].number_input(
                "Scale down below (requests/min)", min_value=1.0, value=base.scale_down_throughput_per_min
            ),
            # memory as a percentage here as everywhere else on screen; the policy keeps fractions
            "scale_up_memory": cols[2].number_input(
                "Scale up above (memory %)",
                min_value=1.0,
                max_value=100.0,
                value=round(base.scale_up_memory * 100, 1),
                step=5.0,
            )
            / 100,
            "scale_down_memory": cols[2].number_input(
                "Scale down below (memory %)",
                min_value=1.0,
                max_value=100.0,
                value=round(base.scale_down_memory * 100, 1),
                step=5.0,
            )
            / 100,
        }
        more = st.columns(4)
        values["tolerance"] = (
            more[0].number_input(
                "Tolerance (%)", min_value=0.0, max_value=90.0, value=round(base.tolerance * 100, 1), step=5.0
            )
            / 100
        )
        values["min_replicas"] = more[1].number_input("Min replicas", min_value=1, value=base.min_replicas)
        values["max_replicas"] = more[2].number_input("Max replicas", min_value=1, value=base.max_replicas)
        replicas = more[3].number_input("Replicas now", min_value=1, value=replicas_now)
        tried = st.form_submit_button("Try these values")
    if tried:
        outcome = services.what_if(ctx, viewer, values, replicas=int(replicas))
        st.metric(
            "Would recommend", f"{outcome.label}: {outcome.current_replicas} → {outcome.desired_replicas}"
        )
        st.info(outcome.reason)
        st.dataframe(ui.rules_table(outcome), hide_index=True, width="stretch")
