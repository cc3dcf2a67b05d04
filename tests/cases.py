"""The one list of families for the registry-driven tests.

Each family module ``jaxmle/families/<module>.py`` has a
``tests/cases_<module>.py`` with a ``CASES`` list of :class:`Case`; this module
collects them all (by file name: no list to keep by hand), and
tests/test_families.py fails for a registered family without a case.

A case says how to draw data, a true parameter point, random parameter points,
and how scipy fits the same model. The scipy distribution itself is never named
here: it comes from the family's ``scipy_equivalent`` declaration, so the
mapping to scipy is stated once, in the family.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
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
    # scipy's own MLE of the same model, the reference of test_fit: the keyword
    # arguments of the declared distribution's ``fit`` (``{"floc": 0}`` holds
    # scipy's extra location at ours; ``{}`` fits freely), or None where
    # scipy.stats cannot fit the family (the fit is then compared with the
    # log-likelihood at the true parameters and at the closed form).
    scipy_fit: Mapping[str, Any] | None
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
    # test_fit also refits with the last parameter held fixed. One more compiled
    # program per case: the mechanism is generic, so it runs on a spread of
    # families (2 and 3 parameters, continuous, discrete, vector-valued).
    check_fixed: bool = False
    # The fit programs take a few seconds to compile on a 2-core CPU (betaln
    # and its second derivatives): test_buckets leaves these families out of
    # its padded-length checks (test_fit runs every check on them).
    slow_compile: bool = False

    @property
    def label(self) -> str:
        return self.id or self.name

    def family(self):
        import jaxmle as jm

        return jm.family(self.name, **self.options)

    def scipy_mle(self, x: np.ndarray) -> Any:
        """scipy's fit of the declared distribution to ``x``, frozen."""
        dist = self.family().scipy_equivalent.distribution()
        return dist(*dist.fit(x, **self.scipy_fit))


def _collect() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        cases.extend(importlib.import_module(path.stem).CASES)
    return cases


CASES = _collect()
IDS = [c.label for c in CASES]
