"""Helpers shared by the command modules."""
from __future__ import annotations


def print_frame(df, max_rows: int | None = None) -> None:
    """Print a DataFrame as a plain table (or "(no rows)")."""
    import pandas as pd

    with pd.option_context("display.max_rows", max_rows, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 100):
        print(df.to_string(index=False, max_rows=max_rows) if len(df) else "(no rows)")
