import plotly.express as px
import streamlit as st
from hellodash.logic import kpis, make_frame

df = make_frame()
st.title("Overview")
cols = st.columns(3)
for col, (label, value) in zip(cols, kpis(df).items(), strict=False):
    col.metric(label, f"{value:,}")
fig = px.line(df, x="month", y=["revenue", "cost"], title="Revenue vs cost")
st.plotly_chart(fig, key="rev_chart")
