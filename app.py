"""ebaydash entry point: page setup and navigation. Everything else lives in pages/ and ebaydash/."""

import streamlit as st

from ebaydash import ui

st.set_page_config(page_title="ebaydash", page_icon=":material/storefront:", layout="wide")

navigation = st.navigation(
    {
        "Sellers": [
            st.Page("pages/overview.py", title="Overview", icon=":material/insights:", default=True),
            st.Page("pages/orders.py", title="Orders", icon=":material/receipt_long:"),
            st.Page("pages/profit.py", title="Profit", icon=":material/savings:"),
            st.Page("pages/payouts.py", title="Payouts", icon=":material/account_balance:"),
            st.Page("pages/costs.py", title="Cost of goods", icon=":material/inventory_2:"),
            st.Page("pages/import_orders.py", title="Import orders", icon=":material/upload_file:"),
        ],
        "System": [
            st.Page("pages/performance.py", title="Performance", icon=":material/speed:"),
            st.Page("pages/resources.py", title="Resources", icon=":material/memory:"),
            st.Page("pages/scaling.py", title="Scaling", icon=":material/trending_up:"),
        ],
    }
)
ui.run_page(navigation)
