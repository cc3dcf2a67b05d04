"""Cases for circular.py: von_mises."""

from cases import Case

CASES = [
    Case(
        "von_mises",
        {"loc": 0.5, "concentration": 3.0},
        lambda r, n: r.vonmises(0.5, 3.0, n),
        # Moderate concentrations: scipy's cdf series is accurate to ~1e-14
        # absolute only, so its logcdf far in a tail (a point near the antipode
        # of a random loc with a large kappa) loses relative accuracy.
        lambda r: {"loc": r.uniform(-1, 1), "concentration": r.uniform(0.2, 4)},
        {"fscale": 1},
    ),
]
