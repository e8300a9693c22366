"""Cost of goods: the seller's unit cost per SKU from a valid-from day, edited in place; every
change is logged."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import streamlit as st

from ebaydash import services, ui

_SAVED = "costs_saved_flash"
_IMPORTED = "costs_imported_flash"

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title(f"Cost of goods — {account.name}")
st.caption(
    f"Unit cost per SKU in {account.currency}, in force from its valid-from day until the SKU's next "
    "row. Add, change or delete rows and save; or upload a CSV (SKU, cost, currency, valid_from)."
)

with ui.guard():
    current = services.costs(ctx, chosen.viewer, account.id)
    frame = pd.DataFrame(
        [{"sku": c.sku, "valid_from": c.valid_from, "unit_cost": float(c.unit_cost)} for c in current],
        columns=["sku", "valid_from", "unit_cost"],
    )
    edited = st.data_editor(
        frame,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "sku": st.column_config.TextColumn("SKU", required=True, max_chars=80),
            "valid_from": st.column_config.DateColumn("Valid from", required=True, default=dt.date.today()),
            "unit_cost": st.column_config.NumberColumn(
                f"Unit cost ({account.currency})", required=True, min_value=0.0, step=0.01, format="%.2f"
            ),
        },
        key=f"costs_{account.id}",
    )
    if st.button("Save", type="primary"):
        rows = [
            {
                "sku": r["sku"],
                "valid_from": r["valid_from"],
                # the editor holds floats: their shortest text is the amount typed
                "unit_cost": Decimal(repr(float(r["unit_cost"]))) if pd.notna(r["unit_cost"]) else None,
            }
            for r in edited.to_dict("records")
        ]
        added, changed, removed = services.save_costs(ctx, chosen.viewer, account.id, rows)
        ui.flash(_SAVED, True, f"Saved: {added} added, {changed} changed, {removed} removed.")
    ui.show_flash(_SAVED)

    uploaded = st.file_uploader("Cost file (CSV)", type=["csv", "txt"], key="costs_upload")
    if uploaded is not None and st.button("Import costs"):
        report = services.import_costs(
            ctx, chosen.viewer, uploaded.name, uploaded.getvalue(), account_name=account.name
        )
        ui.flash(
            _IMPORTED, report.committed, report.summary, [error.describe() for error in report.errors[:50]]
        )
    ui.show_flash(_IMPORTED)

    st.subheader("Changes")
    changes = services.cost_changes(ctx, chosen.viewer, account.id)
    if changes:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "When": ui.local_time(c.changed_at, account.timezone),
                        "SKU": c.sku,
                        "Valid from": c.valid_from,
                        "Was": ui.money_or(c.old_unit_cost, account.currency, "— (new)"),
                        "Now": ui.money_or(c.new_unit_cost, account.currency, "— (deleted)"),
                        "By": c.source + (f" ({c.file})" if c.file else ""),
                    }
                    for c in changes
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No changes yet.")
