"""Post-processing of stored feature columns, one whole column at a time.

Numerical columns: one transform of {identity, rank_uniform, signed_log1p,
signed_sqrt, standardize}, then a fraction of the rows set to NULL (NaN in the
buffer). Categorical columns of a random schema become booleans (category > 0);
a constant boolean column is dropped. These run after the children of the table
have read its raw SCM values, as in the reference.
"""

from __future__ import annotations

import numpy as np

from plurel_sql.sampling import draw_choice


def transform(values: np.ndarray, name: str) -> np.ndarray:
    """Apply the named column transform (float64 in, float64 out)."""
    x = values.astype(np.float64, copy=False)
    if name == "identity":
        return x.copy()
    if name == "rank_uniform":
        ranks = np.empty(len(x), dtype=np.float64)
        ranks[np.argsort(x, kind="stable")] = np.arange(1, len(x) + 1)
        return ranks / (len(x) + 1)
    if name == "signed_log1p":
        return np.sign(x) * np.log1p(np.abs(x))
    if name == "signed_sqrt":
        return np.sign(x) * np.sqrt(np.abs(x))
    if name == "standardize":
        return (x - x.mean()) / max(float(x.std()), 1e-8)
    raise ValueError(f"unknown transform {name}")


def null_count(num_rows: int, fraction: float, bounds: tuple[float, float]) -> int:
    """Rows to set NULL: round(fraction x rows), kept inside the configured bounds
    so small tables still land inside ``[min, max]`` where any integer can."""
    lo = int(np.ceil(bounds[0] * num_rows))
    hi = int(np.floor(bounds[1] * num_rows))
    count = int(round(fraction * num_rows))
    return max(lo, min(count, hi)) if lo <= hi else lo


def finish_numeric(
    values: np.ndarray,
    transforms: list[str],
    nulls: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Transform a raw numeric column and set ``nulls`` random rows to NaN (NULL)."""
    out = transform(values, draw_choice(rng, transforms))
    if nulls:
        out[rng.choice(len(out), size=nulls, replace=False)] = np.nan
    return out
