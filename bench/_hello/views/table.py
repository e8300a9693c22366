import streamlit as st
from hellodash.logic import make_frame, next_cursor, page_slice

df = make_frame()
st.session_state.setdefault("cursor", 0)
st.title("Table")


def _advance() -> None:
    st.session_state.cursor = next_cursor(df, st.session_state.cursor)


st.button("Next page", key="next_btn", on_click=_advance)
st.caption(f"Page {st.session_state.cursor + 1}")
st.dataframe(page_slice(df, st.session_state.cursor), key="table_df")
