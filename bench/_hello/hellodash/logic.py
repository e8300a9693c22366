"""Pure logic, testable without Streamlit."""

import pandas as pd

PAGE_SIZE = 5


def make_frame(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": [f"M{i + 1:02d}" for i in range(n)],
            "revenue": [100 + 10 * i for i in range(n)],
            "cost": [60 + 5 * i for i in range(n)],
        }
    )


def kpis(df: pd.DataFrame) -> dict[str, int]:
    rev = int(df["revenue"].sum())
    cost = int(df["cost"].sum())
    return {"Revenue": rev, "Cost": cost, "Margin": rev - cost}


def page_slice(df: pd.DataFrame, cursor: int, size: int = PAGE_SIZE) -> pd.DataFrame:
    start = cursor * size
    return df.iloc[start : start + size].reset_index(drop=True)


def next_cursor(df: pd.DataFrame, cursor: int, size: int = PAGE_SIZE) -> int:
    n_pages = max(1, -(-len(df) // size))
    return (cursor + 1) % n_pages
