"""Overview: KPI tiles with their change against the previous period, the trend, top products,
top buyers and the status mix."""

from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ebaydash import services, ui

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title(f"{account.name}")
st.caption(f"{chosen.period_label}: {ui.window_caption(chosen.window, account.timezone)}")

with ui.guard():
    view = services.overview(ctx, account.id, chosen.window, fresh=chosen.fresh)
    k, cur, help_ = view.kpis, view.kpis.currency, services.FIGURES
    # more refunds or cancellations is bad news: their increase shows red ("inverse")
    tiles: list[tuple[str, str, str | None, Literal["normal", "inverse"]]] = [
        ("Orders", f"{k.orders.current:,}", ui.delta(k.orders), "normal"),
        ("Revenue", ui.money(k.revenue.current, cur), ui.delta(k.revenue, currency=cur), "normal"),
        (
            "Average order value",
            ui.money(k.average_order_value.current, cur),
            ui.delta(k.average_order_value, currency=cur),
            "normal",
        ),
        ("Unique customers", f"{k.unique_customers.current:,}", ui.delta(k.unique_customers), "normal"),
        ("Active listings", f"{k.active_listings.current:,}", ui.delta(k.active_listings), "normal"),
        ("Active products", f"{k.active_products.current:,}", ui.delta(k.active_products), "normal"),
        ("Refunds", f"{k.refunds.current:,}", ui.delta(k.refunds), "inverse"),
        (
            "Refunded",
            ui.money(k.refunded_amount.current, cur),
            ui.delta(k.refunded_amount, currency=cur),
            "inverse",
        ),
        ("Cancelled", f"{k.cancelled.current:,}", ui.delta(k.cancelled), "inverse"),
    ]
    for start in range(0, len(tiles), 3):
        for column, (label, value, change, color) in zip(
            st.columns(3), tiles[start : start + 3], strict=True
        ):
            column.metric(label, value, change, delta_color=color, help=help_[label])
    st.caption("Changes compare with the same number of days just before this period.")

    full = ui.tiles_painted()  # False: a browser's first view, the tiles go first
    per = "week" if view.trend.granularity == "week" else "day"
    if view.trend.empty:
        st.info("No orders in this period.")
    elif not full:
        # the chart comes in the rerun the browser asks for once the tiles are on screen
        st.container(height=450, border=False)
    else:
        days = [p.bucket for p in view.trend.points]
        fig = go.Figure(
            [
                go.Bar(x=days, y=[float(p.revenue) for p in view.trend.points], name=f"Revenue ({cur})"),
                go.Scatter(
                    x=days, y=[p.orders for p in view.trend.points], name="Orders", yaxis="y2", mode="lines"
                ),
            ]
        )
        fig.update_layout(
            title=f"Revenue and orders per {per}" + (" (weeks start on Monday)" if per == "week" else ""),
            yaxis={"title": f"Revenue ({cur})"},
            yaxis2={
                "title": "Orders",
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                # whole orders only: about five ticks, each a whole number
                "tickformat": ",d",
                "dtick": max(1, -(-max(p.orders for p in view.trend.points) // 5)),
                "showgrid": False,
            },
            legend={"orientation": "h"},
            margin={"t": 50, "b": 10},
        )
        st.plotly_chart(fig, width="stretch")

    left, right = st.columns(2)
    with left:
        st.subheader("Top products", help=help_["Top products"])
        by_revenue, by_units = st.tabs(["By revenue", "By units"])
        for tab, products in ((by_revenue, view.top_by_revenue), (by_units, view.top_by_units)):
            if not products:
                tab.caption("No products sold in this period.")
                continue
            ui.dataframe(
                tab,
                pd.DataFrame(
                    {
                        "SKU": [p.sku for p in products],
                        "Title": [p.title for p in products],
                        "Units": [p.units for p in products],
                        "Revenue": [ui.money(p.revenue, cur) for p in products],
                        "Orders": [p.orders for p in products],
                    }
                ),
                now=full,
            )
    with right:
        st.subheader("Top buyers", help=help_["Top buyers"])
        if view.top_buyers:
            ui.dataframe(
                st,
                pd.DataFrame(
                    {
                        "Buyer": [b.username for b in view.top_buyers],
                        "Orders": [b.orders for b in view.top_buyers],
                        "Revenue": [ui.money(b.revenue, cur) for b in view.top_buyers],
                    }
                ),
                now=full,
            )
        else:
            st.caption("No buyers in this period.")

    st.subheader("Status mix", help=help_["Status mix"])
    placed = sum(s.orders for s in view.status_mix)
    ui.dataframe(
        st,
        pd.DataFrame(
            {
                "Status": [s.status for s in view.status_mix],
                "Orders": [s.orders for s in view.status_mix],
                "Share": [f"{s.orders / placed:.1%}" if placed else "—" for s in view.status_mix],
                "Order totals": [ui.money(s.amount, cur) for s in view.status_mix],
            }
        ),
        now=full,
    )
    ui.as_of(k.as_of, account.timezone)
