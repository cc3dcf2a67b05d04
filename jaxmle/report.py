"""Results as documents: the JSON records and plain-text tables the command
line prints or writes (one implementation for every command).

A record is the JSON document itself (built here, dumped by the caller):
every number a script needs, NaN and infinities as ``null``.
"""

from __future__ import annotations

import math
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxmle.results import FitResult, GroupFits
from jaxmle.select import Selection

__all__ = [
    "fit_record",
    "groups_record",
    "json_value",
    "selection_record",
    "text_table",
    "versions",
]


def json_value(v: Any) -> Any:
    """``v`` as plain JSON values: arrays as (nested) lists, numpy scalars as
    Python numbers, NaN and infinities as ``None``."""
    if isinstance(v, Mapping):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, (str, bool)) or v is None:
        return v
    a = np.asarray(v)
    if a.ndim > 0:
        return [json_value(x) for x in a]
    if a.dtype.kind == "b":
        return bool(a)
    if a.dtype.kind in "iu":
        return int(a)
    if a.dtype.kind == "f":
        f = float(a)
        return f if math.isfinite(f) else None
    return str(a)


def versions(jaxmle_version: str) -> dict[str, str]:
    """The versions behind a result: jaxmle's (given), jax, jaxlib, numpy,
    Python, and the device."""
    import jax
    import jaxlib

    d = jax.devices()[0]
    return {
        "jaxmle": jaxmle_version,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": sys.platform,
        "device": f"{d.platform} ({getattr(d, 'device_kind', '') or d.platform})",
        "x64": str(bool(jax.config.jax_enable_x64)).lower(),
    }


def fit_record(res: FitResult, level: float = 0.95, ci_method: str = "wald") -> dict[str, Any]:
    """One fit as a JSON document: family, method, parameters (fixed ones
    included), standard errors, ``level`` confidence intervals by
    ``ci_method``, log-likelihood, AIC/AICc/BIC, n, convergence."""
    ci: dict[str, Any] = {}
    if bool(res.converged) and res.free_names:
        ci = {k: [lo, hi] for k, (lo, hi) in res.conf_int(level, method=ci_method).items()}
    return json_value(
        {
            "family": res.family.name,
            "method": res.method,
            "params": dict(res.params),
            "fixed": [k for k in res.params if k not in res.free_names],
            "stderr": dict(res.stderr),
            "conf_int": {"level": level, "method": ci_method, "intervals": ci},
            "loglik": res.loglik,
            "aic": res.aic,
            "aicc": res.aicc,
            "bic": res.bic,
            "n": res.n,
            "n_params": res.n_params,
            "converged": bool(res.converged),
            "status": int(res.status),
            "message": res.message,
            "n_iter": res.n_iter,
            "n_passes": res.n_passes,
            "cov_type": res.cov_type,
        }
    )


def groups_record(fits: GroupFits) -> list[dict[str, Any]]:
    """One record per group: ``group`` then the columns of ``to_table``."""
    table = fits.to_table()
    keys = list(table)
    return [
        json_value({k: table[k][i] for k in keys} | {"group": str(table["group"][i])})
        for i in range(len(fits))
    ]


def selection_record(sel: Selection) -> dict[str, Any]:
    """A selection as a JSON document: the ranked candidates (fit record,
    criteria, goodness-of-fit statistics, notes) and the skipped families."""
    rows = []
    for rank, c in enumerate(sel.candidates, 1):
        rows.append(
            {
                "rank": rank,
                "family": c.name,
                "params": json_value(dict(c.fit.params)),
                "stderr": json_value(dict(c.fit.stderr)),
                "loglik": json_value(c.loglik),
                "n_params": c.n_params,
                "aic": json_value(c.aic),
                "aicc": json_value(c.aicc),
                "bic": json_value(c.bic),
                "converged": bool(c.converged),
                "ks": json_value(c.ks),
                "cvm": json_value(c.cvm),
                "ad": json_value(c.ad),
                "note": c.note,
            }
        )
    return {
        "criterion": sel.criterion,
        "n": json_value(sel.n),
        "best": sel.candidates[0].name if sel.candidates else None,
        "candidates": rows,
        "skipped": [{"family": s.family, "reason": s.reason} for s in sel.skipped],
    }


def text_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table: text left-aligned, numbers right-aligned with
    6 significant digits."""

    def cell(v: Any) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        if isinstance(v, (float, np.floating)):
            return "nan" if math.isnan(v) else f"{float(v):.6g}"
        return str(v)

    cells = [[cell(v) for v in r] for r in rows]
    numeric = [
        all(isinstance(r[j], (int, float, np.number)) for r in rows) for j in range(len(header))
    ]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(header)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=False)
        ).rstrip()

    return "\n".join(
        [line(list(header)), line(["-" * w for w in widths])] + [line(r) for r in cells]
    )
