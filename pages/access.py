"""Access (admins): who may see which account, and the audit log of sign-ins, grants and imports."""

import json

import pandas as pd
import streamlit as st

from ebaydash import services, ui

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
        st.caption(f"{ctx.settings.admin_email} is an admin of every account (EBAYDASH_ADMIN_EMAIL).")
    st.subheader("Grants")
    if not rows:
        st.caption("Nobody has signed in or been granted anything yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Person": [r.email for r in rows],
                    "Account": [r.account_name or "— no access yet —" for r in rows],
                    "Role": [r.role or "" for r in rows],
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
                    "Details": [
                        json.dumps(e.detail, ensure_ascii=False) if e.detail else "" for e in entries
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
        )
