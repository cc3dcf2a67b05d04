"""The one list of families for the registry-driven tests.

Each family module has a ``tests/cases_<module>.py`` with a ``CASES`` list of
:class:`Case`; this module collects them all. A case says how to draw data, a
true parameter point, random parameter points, and scipy's fit for the same
model (``None`` where scipy.stats cannot fit it: the fit is then compared with
the log-likelihood at the true parameters and at the closed form).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str  # registry name
    params: dict[str, Any]  # a true parameter point (data are drawn from it)
    draw: Callable[[np.random.Generator, int], np.ndarray]
    random_params: Callable[[np.random.Generator], dict[str, Any]]
    scipy_fit: Callable[[np.ndarray], Any] | None  # x -> frozen scipy distribution
    options: dict[str, Any] = field(default_factory=dict)  # family constructor kwargs
    fit_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. fixed=
    n_fit: int = 2000
    id: str = ""  # test id, defaults to name
    # The MLE sits on a support boundary (pareto's scale = min(x), uniform's
    # bounds): Newton cannot reach it, the score need not vanish there.
    boundary_mle: bool = False
    # Relative tolerance against scipy's logpdf/cdf; loosen only where scipy's
    # own evaluation is the less accurate one, and say why in the case.
    rtol: float = 1e-9

    @property
    def label(self) -> str:
        return self.id or self.name

    def family(self):
        import jaxmle as jm

        return jm.family(self.name, **self.options)


def _collect() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        cases.extend(importlib.import_module(path.stem).CASES)
    return cases


CASES = _collect()
IDS = [c.label for c in CASES]
