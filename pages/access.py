"""Access (admins): who may see which account, and the audit log of sign-ins, grants and imports."""

import json

import pandas as pd
import streamlit as st

from ebaydash import services, ui

# Sized to their text, the audit log ran past a 1400 px window and cut its Details. Widths that add
# up to the page's ~920 px, the text wrapped in rows tall enough (as ui.actions_history does): three
# lines of Details hold an import's files and counts.
AUDIT_COLUMNS = {
    "When": st.column_config.TextColumn(width=100),  # the date over the time
    "Who": st.column_config.TextColumn(width=130),
    "What": st.column_config.TextColumn(width=80),
    "Account": st.column_config.TextColumn(width=100),
    "Person": st.column_config.TextColumn(width=130),
    "Details": st.column_config.TextColumn(width=380),
}


def details(detail: dict[str, object]) -> str:
    """An audit entry's details for a cell: ``files: a.csv, b.csv · orders: 12``, shorter than
    its JSON (no braces, no quotes), so that three lines hold an import's."""

    def shown(value: object) -> str:
        if isinstance(value, list):
            return ", ".join(shown(v) for v in value)
        return "none" if value is None else value if isinstance(value, str) else json.dumps(value)

    return " · ".join(f"{key}: {shown(value)}" for key, value in detail.items())


ctx = ui.context()
viewer = ui.viewer()
st.title("Access")
st.caption(
    "Roles per account: **seller** (the account's pages), **manager** (also the system pages), "
    "**admin** (every account, the system pages and this page). Change them with "
    "`ebaydash users grant EMAIL --account NAME --role seller|manager|admin` and "
    "`ebaydash users revoke EMAIL --account NAME`."
)

with ui.guard():
    rows = services.grants(ctx, viewer)
    if ctx.settings.admin_email:
        # an address in Markdown becomes a mailto: link: md() keeps it text
        st.caption(f"{ui.md(ctx.settings.admin_email)} is an admin of every account (EBAYDASH_ADMIN_EMAIL).")
    st.subheader("Grants")
    if not rows:
        st.caption("Nobody has signed in or been granted anything yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Person": [r.email for r in rows],
                    # without a grant: admin (every account), access removed (when), no access yet
                    "Account": [r.account_name or f"— {r.standing} —" for r in rows],
                    "Role": [r.role or ("admin" if r.every_account else "") for r in rows],
                    "Granted": [f"{r.granted_at:%Y-%m-%d %H:%M} UTC" if r.granted_at else "" for r in rows],
                    "By": [r.granted_by or "" for r in rows],
                    "Last sign-in": [
                        f"{r.last_sign_in_at:%Y-%m-%d %H:%M} UTC" if r.last_sign_in_at else "never"
                        for r in rows
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.subheader("Audit log")
    entries = services.audit_log(ctx, viewer)
    if not entries:
        st.caption("Nothing recorded yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "When": [f"{e.at:%Y-%m-%d %H:%M:%S} UTC" for e in entries],
                    "Who": [e.actor for e in entries],
                    "What": [e.action.replace("_", " ") for e in entries],
                    "Account": [e.account_name or "" for e in entries],
                    "Person": [e.subject or "" for e in entries],
                    "Details": [details(e.detail) for e in entries],
                }
            ),
            hide_index=True,
            width="stretch",
            # an import's details (its files and counts) are long: they get the room and wrap
            # onto three lines, as the scaling actions' reasons do (ui.actions_history)
            row_height=ui.ACTIONS_ROW_PX,
            column_config=AUDIT_COLUMNS,
        )
