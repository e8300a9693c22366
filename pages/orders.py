"""Orders: filters, keyset-paginated table, drill-down into one order."""

import pandas as pd
import streamlit as st

from ebaydash import services, ui
from ebaydash.db.schema import ORDER_STATUSES
from ebaydash.models import OrderFilter

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title("Orders")
st.caption(f"{account.name} · {chosen.period_label}: {ui.window_caption(chosen.window, account.timezone)}")

with ui.guard():
    cols = st.columns([2, 2, 2, 1])
    statuses = cols[0].multiselect("Status", ORDER_STATUSES, key="orders_status")
    search = cols[1].text_input("Search order id, SKU or title", key="orders_search", max_chars=200)
    buyer = cols[2].text_input("Buyer", key="orders_buyer", max_chars=128)
    page_size = cols[3].selectbox("Per page", services.PAGE_SIZES, key="orders_page_size")
    flt = OrderFilter(statuses=tuple(statuses), window=chosen.window, buyer=buyer, search=search)

    state_key = (account.id, flt, page_size)
    if st.session_state.get("orders_state_key") != state_key:
        st.session_state["orders_state_key"] = state_key
        st.session_state["orders_cursor"] = None
    page = services.orders_page(
        ctx,
        account.id,
        flt,
        cursor=st.session_state["orders_cursor"],
        page_size=page_size,
        fresh=chosen.fresh,
    )
    total = services.orders_total(ctx, account.id, flt, fresh=chosen.fresh)
    st.write(f"**{total:,}** matching orders")
    table = pd.DataFrame(
        [
            {
                "Order": r.ebay_order_id,
                "Date": r.order_date.strftime("%Y-%m-%d %H:%M"),
                "Status": r.status,
                "Buyer": r.buyer or "",
                "Items": r.items,
                "Total": ui.money(r.total_amount, r.currency),
            }
            for r in page.rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    nav = st.columns([1, 1, 6])
    if nav[0].button("← Previous", disabled=page.prev_cursor is None):
        st.session_state["orders_cursor"] = page.prev_cursor
        st.rerun()
    if nav[1].button("Next →", disabled=page.next_cursor is None):
        st.session_state["orders_cursor"] = page.next_cursor
        st.rerun()

    if page.rows:
        labels = {r.id: f"{r.ebay_order_id} · {r.buyer or 'unknown buyer'}" for r in page.rows}
        order_id = st.selectbox("Order details", list(labels), format_func=labels.get)
        detail = services.order_detail(ctx, account.id, order_id, fresh=chosen.fresh)
        o = detail.order
        st.subheader(f"Order {o.ebay_order_id}")
        info = st.columns(4)
        info[0].metric("Total", ui.money(o.total_amount, o.currency))
        info[1].metric("Refunded", ui.money(o.refunded_amount, o.currency))
        info[2].metric("Status", o.status)
        info[3].metric("Buyer", o.buyer or "—")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "SKU": i.sku,
                        "Title": i.title,
                        "Qty": i.quantity,
                        "Unit price": ui.money(i.unit_price, o.currency),
                        "Line total": ui.money(i.line_total, o.currency),
                    }
                    for i in detail.items
                ]
            ),
            hide_index=True,
            width="stretch",
        )
