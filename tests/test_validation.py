"""Bad input fails early with a message that names the problem and where it is."""

import numpy as np
import optax
import pytest

import jaxmle as jm

X = np.array([1.0, 2.0, 3.0, 4.5, 0.7])


@pytest.mark.parametrize(
    "x, err, match",
    [
        ([], ValueError, "empty"),
        ([1.0, np.nan, 2.0], ValueError, r"1 observation\(s\) with non-finite.*x\[1\]"),
        ([1.0, 2.0, np.inf], ValueError, r"x\[2\]=.*inf"),
        ([1.0, -2.0, 3.0, -1.0], ValueError, r"2 value\(s\) outside the support of gamma.*x\[1\]"),
        ([[1.0, 2.0], [3.0, 4.0]], ValueError, r"must have shape \(N,\).*fit_many"),
        (["a", "b"], TypeError, "real numbers"),
        ([1 + 2j], TypeError, "complex"),
        ("1,2,3", TypeError, "array of numbers"),
        ([0.0, 1.0], ValueError, "outside the support"),  # gamma needs x > 0
    ],
)
def test_bad_data(x, err, match):
    with pytest.raises(err, match=match):
        jm.fit("gamma", x)


def test_discrete_support():
    with pytest.raises(ValueError, match=r"poisson \(the integers.*x\[1\]=1.5"):
        jm.fit("poisson", [1, 1.5, 2])
    with pytest.raises(ValueError, match=r"bernoulli \(\{0, 1\}\).*x\[2\]=2"):
        jm.fit("bernoulli", [0, 1, 2])
    res = jm.fit("bernoulli", np.array([True, False, True, True]))
    assert float(res.params["p"]) == 0.75


@pytest.mark.parametrize(
    "w, match",
    [
        (np.ones(4), r"shape \(5,\)"),
        (np.array([1.0, -1.0, 1.0, 1.0, 1.0]), r"weights\[1\]"),
        (np.array([1.0, np.nan, 1.0, 1.0, 1.0]), "non-finite"),
        (np.zeros(5), "all zero"),
    ],
)
def test_bad_weights(w, match):
    with pytest.raises(ValueError, match=match):
        jm.fit("gamma", X, weights=w)


def test_unknown_names():
    with pytest.raises(ValueError, match="Did you mean 'gamma'"):
        jm.fit("gama", X)
    with pytest.raises(ValueError, match="unknown method 'bfgs'"):
        jm.fit("gamma", X, method="bfgs")
    with pytest.raises(ValueError, match="no closed-form MLE"):
        jm.fit("gamma", X, method="closed_form")
    with pytest.raises(TypeError, match="family"):
        jm.fit(3, X)


def test_bad_fixed_and_init():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['scale'\]"):
        jm.fit("gamma", X, fixed={"scale": 1.0})
    with pytest.raises(ValueError, match=r"fixed 'rate'=-1.0 is outside .*\(0, inf\)"):
        jm.fit("gamma", X, fixed={"rate": -1.0})
    with pytest.raises(ValueError, match="nothing to fit"):
        jm.fit("gamma", X, fixed={"rate": 1.0, "shape": 2.0})
    with pytest.raises(ValueError, match="both fixed and given an init"):
        jm.fit("gamma", X, fixed={"rate": 1.0}, init={"rate": 2.0})
    with pytest.raises(ValueError, match="init 'shape'"):
        jm.fit("gamma", X, init={"shape": 0.0})
    with pytest.raises(TypeError, match="must be a number"):
        jm.fit("gamma", X, init={"shape": "two"})
    with pytest.raises(ValueError, match="cannot hold parameters fixed"):
        jm.fit("normal", X, method="closed_form", fixed={"loc": 0.0})


def test_bad_options():
    with pytest.raises(ValueError, match="max_iter"):
        jm.fit("gamma", X, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        jm.fit("gamma", X, tol=-1.0)
    with pytest.raises(TypeError, match="optax GradientTransformation"):
        jm.fit("gamma", X, optimizer="adam")
    with pytest.raises(ValueError, match="either method"):
        jm.fit("gamma", X, method="newton", optimizer=optax.adam(1e-2))


def test_functional_api_validates_params():
    with pytest.raises(ValueError, match=r"missing \['rate'\]"):
        jm.loglik("gamma", {"shape": 1.0}, X)
    with pytest.raises(ValueError, match="outside its valid set"):
        jm.score("gamma", {"shape": 1.0, "rate": 0.0}, X)
    with pytest.raises(ValueError, match="scalar"):
        jm.observed_information("gamma", {"shape": [1.0, 2.0], "rate": 1.0}, X)
    with pytest.raises(ValueError, match="outside the support"):
        jm.loglik("exponential", {"rate": 1.0}, [-1.0])


def test_inputs_are_never_modified():
    x = np.random.default_rng(0).gamma(2.0, 1.0, 200)
    w = np.random.default_rng(1).uniform(0.5, 2.0, 200)
    x0, w0 = x.copy(), w.copy()
    x.setflags(write=False)
    fixed = {"rate": 1.0}
    jm.fit("gamma", x, weights=w, fixed=fixed)
    jm.fit("gamma", x, weights=w, method="lbfgs")
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    assert fixed == {"rate": 1.0}
