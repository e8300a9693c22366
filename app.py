"""ebaydash entry point: page setup and navigation. Everything else lives in pages/ and ebaydash/."""

import streamlit as st

from ebaydash import ui

st.set_page_config(page_title="ebaydash", page_icon="📦", layout="wide")

navigation = st.navigation(
    {
        "Sellers": [
            st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
            st.Page("pages/orders.py", title="Orders", icon="🧾"),
            st.Page("pages/import_orders.py", title="Import orders", icon="📥"),
        ],
        "System": [
            st.Page("pages/performance.py", title="Performance", icon="⏱️"),
            st.Page("pages/resources.py", title="Resources", icon="🖥️"),
            st.Page("pages/scaling.py", title="Scaling", icon="📈"),
        ],
    }
)
ui.run_page(navigation)
