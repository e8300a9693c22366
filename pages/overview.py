"""Overview: KPI tiles with their change against the previous period, the trend, top products,
top buyers and the status mix."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ebaydash import services, ui

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title(ui.md(account.name))
st.caption(f"{chosen.period_label}: {ui.window_caption(chosen.window, account.timezone)}")

with ui.guard():
    view = services.overview(ctx, chosen.viewer, account.id, chosen.window, fresh=chosen.fresh)
    # figures in hand while the database is down came from the cache: say so, as other pages would
    ui.cached_figures_banner(ctx, view.kpis.as_of, account.timezone)
    k, cur, help_ = view.kpis, view.kpis.currency, services.FIGURES
    # more refunds or cancellations is bad news: their increase shows red ("inverse")
    tiles: list[tuple[str, ui.Tile]] = [
        ("Orders", ui.kpi_tile(k.orders)),
        ("Revenue", ui.kpi_tile(k.revenue, currency=cur)),
        ("Average order value", ui.kpi_tile(k.average_order_value, currency=cur)),
        ("Unique customers", ui.kpi_tile(k.unique_customers)),
        ("Active listings", ui.kpi_tile(k.active_listings, unknown=ui.LISTINGS_UNKNOWN_SHORT)),
        ("Active products", ui.kpi_tile(k.active_products, unknown=ui.LISTINGS_UNKNOWN_SHORT)),
        ("Refunds", ui.kpi_tile(k.refunds, inverse=True)),
        ("Refunded", ui.kpi_tile(k.refunded_amount, currency=cur, inverse=True)),
        ("Cancelled", ui.kpi_tile(k.cancelled, inverse=True)),
    ]
    for start in range(0, len(tiles), 3):
        for column, (label, tile) in zip(st.columns(3), tiles[start : start + 3], strict=True):
            ui.metric(column, label, tile, help=help_[label])
    st.caption(ui.comparison_caption(chosen, account.timezone))
    # an account whose orders start inside the previous period would show growth of its data
    note = services.comparison_note(ctx, chosen.viewer, account.id, chosen.window, fresh=chosen.fresh)
    if note is not None:
        st.caption(note)

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
                go.Bar(
                    x=days,
                    y=[float(p.revenue) for p in view.trend.points],
                    name=f"Revenue ({cur})",
                    # a bucket's width less a gap: alone on its axis, a bar sized to the range
                    width=0.8 * (7 if per == "week" else 1) * ui.DAY_MS,
                ),
                go.Scatter(
                    x=days,
                    y=[p.orders for p in view.trend.points],
                    name="Orders",
                    yaxis="y2",
                    # a single point of a line without a marker is not drawn at all
                    mode="lines" if len(days) > 1 else "markers",
                ),
            ]
        )
        fig.update_layout(
            title=f"Revenue and orders per {per}" + (" (weeks start on Monday)" if per == "week" else ""),
            xaxis=ui.day_axis(len(days), step_days=7 if per == "week" else 1, first=days[0]),
            yaxis={"title": f"Revenue ({cur})", **ui.money_axis(cur)},
            yaxis2={
                "title": "Orders",
                "overlaying": "y",
                "side": "right",
                # whole orders only: about five ticks, each a whole number
                **ui.count_axis(max(p.orders for p in view.trend.points)),
                "showgrid": False,
            },
            legend={"orientation": "h"},
            margin={"t": 50, "b": 10},
        )
        st.plotly_chart(fig, width="stretch")

    # the products' five columns get the room (at 1400 px, half the page cut their Orders off)
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Top products", help=help_["Top products"])
        by_revenue, by_units = st.tabs(["By revenue", "By units"])
        for ranked_by, tab, products in (
            ("revenue", by_revenue, view.top_by_revenue),
            ("units", by_units, view.top_by_units),
        ):
            if not products:
                tab.caption("No products sold in this period.")
                continue
            ranking = pd.DataFrame(
                {
                    "SKU": [p.sku for p in products],
                    "Title": [p.title for p in products],
                    "Units": [p.units for p in products],
                    # numbers shown as money: a click on the header sorts them by value, not as text
                    "Revenue": [float(p.revenue) for p in products],
                    "Orders": [p.orders for p in products],
                }
            )
            ui.dataframe(
                tab,
                ranking,
                now=full,
                column_config={
                    "Title": st.column_config.TextColumn(width="medium"),
                    "Revenue": ui.money_column("Revenue", cur),
                },
            )
            with tab:
                ui.download_csv(
                    ranking,
                    f"top-products-by-{ranked_by}-{ui.file_name_part(account.ebay_user_id)}.csv",
                    key=f"top_products_csv_{ranked_by}",
                    money_columns=["Revenue"],
                )
    with right:
        st.subheader("Top buyers", help=help_["Top buyers"])
        if view.top_buyers:
            buyers = pd.DataFrame(
                {
                    "Buyer": [b.username for b in view.top_buyers],
                    "Orders": [b.orders for b in view.top_buyers],
                    "Revenue": [float(b.revenue) for b in view.top_buyers],
                }
            )
            ui.dataframe(st, buyers, now=full, column_config={"Revenue": ui.money_column("Revenue", cur)})
            ui.download_csv(
                buyers,
                f"top-buyers-{ui.file_name_part(account.ebay_user_id)}.csv",
                key="top_buyers_csv",
                money_columns=["Revenue"],
            )
        else:
            st.caption("No buyers in this period.")

    st.subheader("Status mix", help=help_["Status mix"])
    placed = sum(s.orders for s in view.status_mix)
    cancelled = sum(s.orders for s in view.status_mix if s.status == "cancelled")
    if cancelled:
        # the two figures differ on purpose: say so, or the page seems to disagree with itself
        st.caption(
            f"All {ui.plural(placed, 'order')} placed, {cancelled:,} cancelled among them; "
            "the Orders tile leaves cancelled orders out."
        )
    ui.dataframe(
        st,
        pd.DataFrame(
            {
                "Status": [ui.order_status(s.status) for s in view.status_mix],
                "Orders": [s.orders for s in view.status_mix],
                "Share": [f"{s.orders / placed:.1%}" if placed else "—" for s in view.status_mix],
                "Order totals": [ui.money(s.amount, cur) for s in view.status_mix],
            }
        ),
        now=full,
    )
    ui.as_of(k.as_of, account.timezone)
