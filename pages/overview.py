"""Overview: KPI tiles with their change against the previous period, and the daily trend."""

import plotly.express as px
import streamlit as st

from ebaydash import services, ui

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title(f"{account.name}")
st.caption(f"{chosen.period_label}: {ui.window_caption(chosen.window, account.timezone)}")

with ui.guard():
    k = services.kpis(ctx, account.id, chosen.window, fresh=chosen.fresh)
    cur = k.currency
    row1 = st.columns(3)
    row1[0].metric(
        "Orders",
        f"{k.orders.current:,}",
        ui.delta(k.orders),
        help="Orders placed in the period, cancelled orders excluded.",
    )
    row1[1].metric(
        "Revenue",
        ui.money(k.revenue.current, cur),
        ui.delta(k.revenue, currency=cur),
        help="Order totals minus refunds, cancelled orders excluded.",
    )
    row1[2].metric(
        "Average order value",
        ui.money(k.average_order_value.current, cur),
        ui.delta(k.average_order_value, currency=cur),
        help="Revenue ÷ orders.",
    )
    row2 = st.columns(3)
    row2[0].metric(
        "Unique customers",
        f"{k.unique_customers.current:,}",
        ui.delta(k.unique_customers),
        help="Distinct buyers of the period's orders.",
    )
    row2[1].metric(
        "Active listings",
        f"{k.active_listings.current:,}",
        ui.delta(k.active_listings),
        help="Listings live at the end of the period; compared with its start.",
    )
    row2[2].metric(
        "Active products",
        f"{k.active_products.current:,}",
        ui.delta(k.active_products),
        help="Distinct products with a live listing at the end of the period.",
    )

    points = services.trend(ctx, account.id, chosen.window, fresh=chosen.fresh)
    if any(p.orders for p in points):
        frame = {
            "day": [p.bucket for p in points],
            "revenue": [float(p.revenue) for p in points],
            "orders": [p.orders for p in points],
        }
        fig = px.bar(
            frame,
            x="day",
            y="revenue",
            hover_data=["orders"],
            labels={"day": "", "revenue": f"Revenue ({cur})"},
            title="Revenue per day",
        )
        st.plotly_chart(fig, width="stretch")
    else:
        st.info("No orders in this period.")
    ui.as_of(k.as_of, account.timezone)
