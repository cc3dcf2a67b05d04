"""Cases for bounded.py: beta, uniform."""

from cases import Case

CASES = [
    Case(
        "beta",
        {"alpha": 2.5, "beta": 4.0},
        lambda r, n: r.beta(2.5, 4.0, n),
        lambda r: {"alpha": r.uniform(0.3, 8), "beta": r.uniform(0.3, 8)},
        {"floc": 0, "fscale": 1},
        slow_compile=True,
    ),
    Case(
        "uniform",
        {"low": -1.0, "high": 2.5},
        lambda r, n: r.uniform(-1.0, 2.5, n),
        # Any interval containing [-1, 2.5] gives the drawn data a finite density.
        lambda r: {"low": r.uniform(-4, -1), "high": r.uniform(2.5, 6)},
        {},
        boundary_mle=True,
    ),
]
