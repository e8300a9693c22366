"""Payouts: what eBay sent to the bank in the sidebar's period, each beside the transactions paid
out in it; a payout whose transactions do not add up to it is shown as a mismatch."""

import pandas as pd
import streamlit as st

from ebaydash import services, ui

chosen = ui.selection()
ctx = ui.context()
account = chosen.account
st.title(f"Payouts — {account.name}")
st.caption(
    f"{chosen.period_label}: {ui.window_caption(chosen.window, account.timezone)} — the payouts paid on "
    "these days, newest first."
)

with ui.guard():
    paid = services.payouts(ctx, chosen.viewer, account.id, chosen.window, fresh=chosen.fresh)
    if not paid:
        if services.payouts(ctx, chosen.viewer, account.id, limit=1, fresh=chosen.fresh):
            st.info("No payouts in this period: choose a longer one in the sidebar.")
        else:
            st.info("No payouts yet: import the Transaction report or getPayouts pages (Import orders page).")
    else:
        mismatched = [p for p in paid if p.difference != 0]
        if mismatched:
            st.warning(
                f"{ui.plural(len(mismatched), 'payout')} {'does' if len(mismatched) == 1 else 'do'} not "
                "equal the sum of their transactions' net amounts: "
                "transactions are missing from the imports, or eBay deducted something the files do "
                "not show.",
                icon="⚠️",
            )
        table = pd.DataFrame(
            [
                {
                    "Payout": p.payout_id,
                    "Paid on": p.paid_on,
                    "Status": ui.payout_status(p.status),
                    "Amount": ui.money(p.amount, p.currency),
                    "Transactions": p.transactions,
                    "Their net": ui.money(p.transactions_net, p.currency),
                    "Difference": "" if p.difference == 0 else ui.money(p.difference, p.currency),
                }
                for p in paid
            ]
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Status": st.column_config.TextColumn(help="eBay's payout status (PayoutStatusEnum)."),
                "Transactions": st.column_config.NumberColumn(
                    help="The imported transactions that name this payout."
                ),
                "Their net": st.column_config.TextColumn(
                    help="The sum of those transactions' net amounts: what the payout should be."
                ),
                "Difference": st.column_config.TextColumn(
                    help="Amount − their net; empty when they match. Not 0: transactions are missing from "
                    "the imports, or eBay deducted something the files do not show."
                ),
            },
        )
        chosen_payout = st.selectbox("Transactions of payout", [p.payout_id for p in paid])
        rows = services.payout_transactions(ctx, chosen.viewer, account.id, chosen_payout)
        converted = any(t.exchange_rate is not None for t in rows)
        lines = pd.DataFrame(
            [
                {
                    "Transaction": t.transaction_id,
                    "Type": ui.money_type(t.type),
                    "Booked on": t.booked_on,
                    "Order": t.order_id or "",
                    "Gross": ui.money(t.gross, t.currency),
                    "Fees": ui.money(t.fees, t.currency),
                    "Exchange rate": "" if t.exchange_rate is None else f"{t.exchange_rate}",
                    "Net": ui.money(t.net, t.payout_currency),
                }
                for t in rows
            ]
        )
        if not converted:
            # no transaction of this payout was converted: an empty column only takes room
            lines = lines.drop(columns=["Exchange rate"], errors="ignore")
        st.dataframe(lines, hide_index=True, width="stretch")
        st.caption(
            "Gross and fees are in the currency the buyer paid in; net in the payout currency"
            + (", at the exchange rate eBay applied." if converted else ".")
        )
