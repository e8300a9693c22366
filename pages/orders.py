"""Orders: filters, keyset-paginated table, order drill-down and CSV export of the filter."""

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from ebaydash import services, ui
from ebaydash.models import OrderFilter, Window, local_today

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
tz = account.timezone
st.title("Orders")

with ui.guard():
    ui.orders_view_from_link()  # a new session (reload, shared link, failover) opens the URL's view
    top = st.columns([3, 3, 2])
    statuses = top[0].multiselect(
        "Status",
        services.ORDER_STATUSES,
        format_func=ui.order_status,
        key="orders_status",
        placeholder="Any status",
    )
    search = top[1].text_input(
        "Search order id, SKU or title",
        key="orders_search",
        max_chars=200,
        help="Matches the text literally anywhere in the order id, or in an item's SKU or title.",
    )
    buyer = top[2].text_input("Buyer", key="orders_buyer", max_chars=128, help="Part of the eBay username.")
    second = st.columns([3, 3, 2])
    dates = second[0].radio(
        "Dates", ["Sidebar period", "All time", "Custom"], key="orders_dates", horizontal=True
    )
    window: Window | None = chosen.window
    if dates == "All time":
        window = None
    picked = None
    if dates == "Custom":
        today = local_today(tz)  # the account's day: UTC's is tomorrow there in the evening
        picked = second[0].date_input(
            "From – to", value=(today - dt.timedelta(days=6), today), key="orders_custom_dates"
        )
        if isinstance(picked, tuple) and len(picked) == 2:
            window = Window.for_dates(picked[0], picked[1], tz)
        else:
            st.caption("Pick a start and an end date; showing the sidebar period until then.")
    sort = second[1].selectbox(
        "Sort",
        list(services.SORT_LABELS),
        format_func=lambda name: services.SORT_LABELS[name],
        key="orders_sort",
    )
    assert sort is not None  # a selectbox with options and no placeholder always has a choice
    page_size = second[2].selectbox("Per page", services.PAGE_SIZES, key="orders_page_size")
    flt = OrderFilter(statuses=tuple(statuses), window=window, buyer=buyer, search=search)
    if window is not None:
        st.caption(f"{ui.window_caption(window, tz)} · times in {tz}")

    # a new filter, sort or page size starts again from the first page
    state_key = (account.id, flt, sort, page_size)
    if st.session_state.get("orders_state_key") != state_key:
        st.session_state["orders_state_key"] = state_key
        st.session_state["orders_cursor"] = ui.linked_cursor()  # None unless a link brought one
    cursor = st.session_state.get("orders_cursor")

    # buttons as wide as their labels, wrapping as a row: in fixed columns a narrow window (800 px
    # with the sidebar open) cut them to "←…" and "N…"
    nav = st.container(horizontal=True, vertical_alignment="center")
    if nav.button("First", icon=":material/first_page:", disabled=cursor is None, key="orders_first"):
        st.session_state["orders_cursor"] = None
        st.rerun()
    page = ui.first_page_if_stale(
        lambda c: services.orders_page(
            ctx, chosen.viewer, account.id, flt, sort=sort, cursor=c, page_size=page_size, fresh=chosen.fresh
        ),
        cursor,
    )
    ui.orders_view_to_link(
        statuses=statuses,
        search=search,
        buyer=buyer,
        dates=dates,
        custom=picked,
        sort=sort,
        page_size=page_size,
        cursor=st.session_state.get("orders_cursor"),
    )
    total = services.orders_total(ctx, chosen.viewer, account.id, flt, fresh=chosen.fresh)
    if nav.button("← Previous", disabled=page.prev_cursor is None, key="orders_prev"):
        st.session_state["orders_cursor"] = page.prev_cursor
        st.rerun()
    if nav.button("Next →", disabled=page.next_cursor is None, key="orders_next"):
        st.session_state["orders_cursor"] = page.next_cursor
        st.rerun()
    if total:
        shown = f"rows {page.first_row:,}–{page.last_row:,}" if page.rows else "no rows on this page"
        nav.markdown(f"**{total:,}** {ui.noun(total, 'matching order')} · {shown}")
    else:
        nav.markdown("No orders match these filters.")

    table = pd.DataFrame(
        {
            "Order": [r.ebay_order_id for r in page.rows],
            "Date": [ui.local_time(r.order_date, tz) for r in page.rows],
            "Status": [ui.order_status(r.status) for r in page.rows],
            "Buyer": [r.buyer or "" for r in page.rows],
            "Items": [r.items for r in page.rows],
            # numbers (cents exact as floats: 2 decimals, under 2**53), so the header sorts them
            "Total": [float(r.total_amount) for r in page.rows],
            "Refunded": [float(r.refunded_amount) for r in page.rows],
        }
    )
    # the whole page without an inner scroll bar; a click on a row opens its details below, and
    # this line above the table links down to them (25 rows push them out of sight)
    opened = st.empty()
    picked_rows = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=ui.table_height(max(len(page.rows), 1)),
        column_config={
            "Total": ui.money_column("Total", account.currency),
            "Refunded": ui.money_column("Refunded", account.currency),
        },
        on_select="rerun",
        selection_mode="single-row",
        # one key per page of results: another page, filter or sort starts with nothing selected
        key=ui.keyed("orders_table", state_key, st.session_state.get("orders_cursor")),
    ).selection.rows

    if total:
        export = st.container(horizontal=True, vertical_alignment="center")
        # the toggle's value as this run sees it: the button comes first in the row
        with_items = bool(st.session_state.get("orders_export_items", False))
        stamp = f"{dt.datetime.now(ZoneInfo(tz)):%Y%m%d-%H%M}"  # the account's clock, as its dates
        seller = ui.file_name_part(account.ebay_user_id)
        export.download_button(
            f"⬇ Download {ui.plural(total, 'order')} as CSV",
            # deferred: the export runs only when clicked, streamed into a temporary file
            data=lambda: services.export_orders_file(
                ctx, chosen.viewer, account.id, flt, sort=sort, line_items=with_items
            ),
            file_name=f"orders{'-items' if with_items else ''}-{seller}-{stamp}.csv",
            mime="text/csv",
            on_click="ignore",
            key="orders_export",
        )
        export.toggle(
            "One row per item",
            key="orders_export_items",
            help="Each line item on its own row (SKU, title, quantity, prices), with its order's columns.",
        )

    if page.rows and not picked_rows:
        st.caption("Click a row to see the order's items and amounts (they open below the table).")
    elif page.rows and picked_rows[0] < len(page.rows):
        order_id = page.rows[picked_rows[0]].id
        detail = services.order_detail(ctx, chosen.viewer, account.id, order_id, fresh=chosen.fresh)
        o = detail.order
        opened.markdown(
            f"Order **{ui.md(o.ebay_order_id)}** is open: [its details below the table ↓](#order-details)"
        )
        st.subheader(f"Order {ui.md(o.ebay_order_id)}", anchor="order-details")
        st.caption(
            f"Placed {ui.local_time(o.order_date, tz)} · last updated {ui.local_time(detail.updated_at, tz)}"
            f" · status **{ui.md(ui.order_status(o.status))}**"
        )
        amounts = st.columns(5)
        amounts[0].metric("Items", ui.money(detail.items_total, o.currency))
        amounts[1].metric(
            "Shipping & other",
            ui.money(detail.other_amount, o.currency),
            help="Order total minus its items: shipping, tax and other charges.",
        )
        amounts[2].metric("Total", ui.money(o.total_amount, o.currency))
        amounts[3].metric("Refunded", ui.money(o.refunded_amount, o.currency))
        amounts[4].metric("Net", ui.money(o.net_amount, o.currency), help="Total minus refunds.")
        st.markdown(
            f"**Buyer:** {ui.md(o.buyer or 'unknown')}"
            + (f" · {ui.md(detail.buyer_email)}" if detail.buyer_email else "")
        )
        lines = pd.DataFrame(
            {
                "SKU": [i.sku for i in detail.items],
                "Title": [i.title for i in detail.items],
                "Qty": [i.quantity for i in detail.items],
                "Unit price": [ui.money(i.unit_price, o.currency) for i in detail.items],
                "Line total": [ui.money(i.line_total, o.currency) for i in detail.items],
            }
        )
        st.dataframe(lines, hide_index=True, width="stretch")
        ui.download_csv(lines, f"order-{ui.file_name_part(o.ebay_order_id)}-lines.csv", key="order_lines_csv")
