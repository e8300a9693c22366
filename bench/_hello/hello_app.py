import streamlit as st

st.set_page_config(page_title="hello", layout="wide")

pg = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", default=True),
        st.Page("views/table.py", title="Table"),
    ]
)
pg.run()
