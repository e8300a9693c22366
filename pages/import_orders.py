"""Import orders: upload Fulfillment API getOrders pages (JSON) or Seller Hub reports (CSV)."""

import pandas as pd
import streamlit as st

from ebaydash import services, ui

ctx = ui.context()
st.title("Import orders")
st.caption(
    "Upload the pages of a Sell Fulfillment API **getOrders** search (JSON) or Seller Hub **Orders** "
    "reports (CSV); the format is recognised by itself. An import is all or nothing: if any order has a "
    "problem, nothing is written and every problem is listed — unless you choose to skip invalid orders. "
    "Importing the same file again changes nothing; changed orders are updated."
)

with ui.guard():
    existing = services.accounts(ctx)
    uploaded = st.file_uploader(
        "Order files", type=["json", "csv", "txt"], accept_multiple_files=True, key="import_files"
    )
    targets = ["An existing account", "A new account"]
    target = st.radio(
        "Import into", targets, index=0 if existing else 1, horizontal=True, disabled=not existing
    )
    if existing and target == targets[0]:
        ids = [a.id for a in existing]
        current = st.session_state.get("account_id")
        chosen = st.selectbox(
            "Account",
            ids,
            index=ids.index(current) if current in ids else 0,
            format_func=lambda i: next(a.name for a in existing if a.id == i),
            key="import_account",
        )
        account = next(a for a in existing if a.id == chosen)
        account_name, zone_default = account.name, account.timezone
        st.caption(f"Currency {account.currency}; orders in another currency are refused.")
    else:
        account_name = st.text_input("New account name", max_chars=100, key="import_new_account")
        zone_default = ctx.settings.timezone
        st.caption("The account takes its currency from the orders and its eBay seller id from the files.")
    zones = services.timezones()
    timezone = st.selectbox(
        "Time zone of the Seller Hub dates",
        zones,
        index=zones.index(zone_default) if zone_default in zones else 0,
        key=f"import_zone_{account_name}",
        help="Seller Hub writes dates in your local time without saying which; JSON dates are UTC.",
    )
    skip_invalid = st.checkbox(
        "Skip invalid orders (import the valid ones and list the others)", key="import_skip"
    )
    ready = bool(uploaded) and bool(account_name.strip())
    if st.button("Import", type="primary", disabled=not ready):
        bar = st.progress(0.0, text="Starting")

        def show_progress(fraction: float, step: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=step)

        imported = services.import_orders(
            ctx,
            [services.ImportFile(f.name, f.getvalue()) for f in uploaded or []],
            account_name=account_name,
            timezone=timezone,
            skip_invalid=skip_invalid,
            progress=show_progress,
        )
        st.session_state["import_report"] = imported
        if imported.committed:
            # show the imported account everywhere, with a sidebar that knows about it
            st.session_state["select_account_id"] = imported.account_id
            st.rerun()

    report = st.session_state.get("import_report")
    if report is not None:
        st.divider()
        if report.committed:
            st.success(report.summary, icon="✅")
        elif report.errors:
            st.error(report.summary, icon="⛔")
        else:
            st.info(report.summary)
        shown = {k: v for k, v in report.counts().items() if v or k in ("imported", "updated", "unchanged")}
        for column, (label, value) in zip(st.columns(len(shown)), shown.items(), strict=True):
            column.metric(label.capitalize(), f"{value:,}")
        st.caption(f"{report.accounted:,} of the {report.orders_in:,} orders in the files are accounted for.")
        for warning in report.warnings:
            st.warning(warning, icon="⚠️")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "File": f.name,
                        "Format": f.format,
                        "Orders": f.orders,
                        "Valid": f.valid,
                        "Rejected": f.rejected,
                        "Problems": f.errors,
                    }
                    for f in report.files
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        if report.errors:
            st.subheader(f"Problems ({len(report.errors):,})")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "File": e.file,
                            "Line": "" if e.line is None else str(e.line),
                            "Order": e.order_id or "",
                            "Field": e.field or "",
                            "Problem": e.reason,
                        }
                        for e in report.errors
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
            st.download_button(
                "Download the problems as CSV",
                report.rejects_csv(),
                file_name="import-problems.csv",
                mime="text/csv",
            )
        if report.committed:
            st.page_link("pages/overview.py", label="See the overview of this account", icon="📊")
