"""Cases for discrete.py: Poisson, Bernoulli, binomial, geometric, negative
binomial, zero-inflated Poisson, categorical, beta-binomial (scipy cannot fit
these: the fits are checked against the true point and the closed form)."""

import numpy as np
from cases import Case


def _zip_draw(r, n):
    return np.where(r.random(n) < 0.3, 0.0, r.poisson(3.0, n).astype(float))


_PROBS = [0.1, 0.2, 0.3, 0.4]

CASES = [
    Case(
        "poisson",
        {"rate": 3.2},
        lambda r, n: r.poisson(3.2, n).astype(float),
        lambda r: {"rate": r.uniform(0.1, 20)},
        None,
    ),
    Case(
        "bernoulli",
        {"p": 0.3},
        lambda r, n: (r.random(n) < 0.3).astype(float),
        lambda r: {"p": r.uniform(0.02, 0.98)},
        None,
    ),
    Case(
        "binomial",
        {"p": 0.3},
        lambda r, n: r.binomial(10, 0.3, n).astype(float),
        lambda r: {"p": r.uniform(0.02, 0.98)},
        None,
        options={"n": 10},
    ),
    Case(
        "geometric",
        {"p": 0.25},
        lambda r, n: r.geometric(0.25, n).astype(float),  # trials up to the first success
        lambda r: {"p": r.uniform(0.02, 0.95)},
        None,
    ),
    Case(
        "negative_binomial",
        {"r": 3.5, "p": 0.4},
        lambda r, n: r.negative_binomial(3.5, 0.4, n).astype(float),
        lambda r: {"r": r.uniform(0.3, 20), "p": r.uniform(0.05, 0.95)},
        None,
        slow_compile=True,
    ),
    Case(
        "zero_inflated_poisson",
        {"rate": 3.0, "pi": 0.3},
        _zip_draw,
        lambda r: {"rate": r.uniform(0.2, 15), "pi": r.uniform(0.02, 0.9)},
        None,
        check_fixed=True,
    ),
    Case(
        "categorical",
        {"probs": np.array(_PROBS)},
        lambda r, n: r.choice(4, n, p=_PROBS).astype(float),
        lambda r: {"probs": r.dirichlet(np.full(4, 2.0))},
        None,
        options={"k": 4},
    ),
    Case(
        "beta_binomial",
        {"alpha": 2.0, "beta": 3.0},
        lambda r, n: r.binomial(12, r.beta(2.0, 3.0, n)).astype(float),
        lambda r: {"alpha": r.uniform(0.3, 10), "beta": r.uniform(0.3, 10)},
        None,
        options={"n": 12},
        slow_compile=True,
    ),
]
