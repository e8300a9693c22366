"""Profit: what the seller keeps — fees, ad spend, labels, net proceeds, cost of goods, profit and
margin from eBay's money records, with their change against the previous period."""

import pandas as pd
import streamlit as st

from ebaydash import services, ui

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title(f"Profit — {account.name}")
st.caption(f"{chosen.period_label}: {ui.window_caption(chosen.window, account.timezone)}")

with ui.guard():
    figures = services.profit_figures(ctx, chosen.viewer, account.id, chosen.window, fresh=chosen.fresh)
    cur, help_ = figures.currency, services.PROFIT_FIGURES
    # why the money figures are unknown, said once above the tiles rather than under each of them
    shared_reason = figures.sales.reason
    if not figures.money_imported:
        st.info(services.NO_MONEY_RECORDS, icon="ℹ️")
    elif shared_reason:
        why = shared_reason.removeprefix("unknown — ")
        st.info(f"Unknown: {why}.", icon="ℹ️")
    tiles = [
        ("Sales", figures.sales, "normal"),
        ("Fees", figures.fees, "inverse"),
        ("Ad spend", figures.ad_spend, "inverse"),
        ("Shipping labels", figures.shipping_labels, "inverse"),
        ("Net proceeds", figures.net_proceeds, "normal"),
        ("Cost of goods", figures.cost_of_goods, "inverse"),
        ("Profit", figures.profit, "normal"),
        ("Margin", figures.margin, "normal"),
    ]
    said = {shared_reason}  # a reason under its first tile only (cost of goods, profit and margin share one)
    for start in range(0, len(tiles), 4):
        for column, (label, kpi, color) in zip(st.columns(4), tiles[start : start + 4], strict=False):
            percent = label == "Margin"
            unchanged = kpi.change == 0  # grey and without an arrow, as on the overview
            column.metric(
                label,
                ui.money_or_unknown(kpi, cur, percent=percent),
                ui.money_delta(kpi, currency=None if percent else cur),
                delta_color="off" if unchanged else "inverse" if color == "inverse" else "normal",
                delta_arrow="off" if unchanged else "auto",
                help=help_[label],
            )
            if kpi.current is None and kpi.reason and kpi.reason not in said:
                said.add(kpi.reason)
                column.caption(kpi.reason)
    compared = ui.comparison_caption(chosen, account.timezone)
    st.caption(f"In {cur}, by the day eBay booked each transaction. {compared}")
    st.caption(services.SALES_VS_REVENUE)

    # one under the other, full width: side by side at 1400 px the amounts were cut off
    st.subheader("Fees by type")
    if figures.fees_by_type:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Fee type": f.label,
                        "This period": ui.money(f.current, cur),
                        "Previous period": ui.money(f.previous, cur),
                        "eBay code": f.fee_type,
                    }
                    for f in figures.fees_by_type
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Previous period": st.column_config.TextColumn(
                    help="The same number of days just before this period."
                ),
                # medium: FINAL_VALUE_FEE_FIXED_PER_ORDER was cut off at small
                "eBay code": st.column_config.TextColumn(width="medium", help="eBay's FeeTypeEnum code."),
            },
        )
    elif not figures.money_imported:
        st.caption("Fees come from eBay's money records (see above).")
    else:
        st.info("No fees in these periods.")

    st.subheader("Top products by profit", help=help_["Top products by profit"])
    top = services.top_products_by_profit(ctx, chosen.viewer, account.id, chosen.window, fresh=chosen.fresh)
    if top:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "SKU": p.sku,
                        "Title": p.title,
                        "Units": p.units,
                        "Revenue": ui.money(p.revenue, cur),
                        "Fees": ui.money(p.fees, cur),
                        "Cost of goods": ui.money_or(p.cost_of_goods, cur),
                        "Profit": ui.money_or(p.profit, cur),
                    }
                    for p in top
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config={"Title": st.column_config.TextColumn(width="medium")},
        )
        if figures.cost_of_goods.current is None and figures.money_imported:
            # a SKU without a cost has no profit to rank by: it comes after every one that has
            st.caption(
                "SKUs without a cost of goods come last, their profit unknown: add their costs on the "
                "Cost of goods page to rank them."
            )
    elif not figures.money_imported:
        st.caption("Products rank by the sales in eBay's money records (see above).")
    else:
        st.info("No sales with imported orders in this period.")
