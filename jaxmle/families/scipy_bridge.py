"""The bridge to ``scipy.stats``: each family's equivalent, declared once.

A family states its scipy equivalent as data,

    scipy_equivalent = ScipyEquivalent("gamma", a="shape", scale="1/rate")

which reads "the frozen ``scipy.stats.gamma(a=shape, scale=1/rate)``". From
that one declaration come ``Family.scipy(params)`` (and so
``FitResult.to_scipy()``), the text of the README's families table, and the
tests' scipy references (the distribution whose ``logpdf``, ``cdf`` and ``fit``
the family is checked against).

Each argument is an expression in the family's parameter names and its options
(the ``n`` of a binomial): names, numbers, ``+ - * /``, unary minus and
``exp(...)``. Expressions are parsed when the class is defined, so a typo fails
at import, not at the first call.

A family whose scipy object cannot be written this way (a distribution built by
jaxmle, a wrapper) declares :meth:`ScipyEquivalent.hand_written` with the text
only, and writes its ``scipy(params)`` method itself.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp

__all__ = ["ScipyEquivalent"]

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
# jnp.exp, as the hand-written mappings used: the same numbers as before.
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {"exp": jnp.exp}

Evaluator = Callable[[Mapping[str, Any]], Any]


def _compile(node: ast.expr, source: str) -> Evaluator:
    """An evaluator ``values -> value`` of the parsed expression ``node``."""
    if isinstance(node, ast.Name):
        name = node.id
        return lambda values: values[name]
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value)
        return lambda values: value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _compile(node.operand, source)
        return lambda values: -inner(values)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _compile(node.left, source), _compile(node.right, source)
        return lambda values: op(left(values), right(values))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        fn, arg = _FUNCTIONS[node.func.id], _compile(node.args[0], source)
        return lambda values: fn(arg(values))
    raise ValueError(
        f"scipy argument {source!r}: only names, numbers, + - * /, unary minus "
        f"and {', '.join(f'{f}()' for f in _FUNCTIONS)} are allowed"
    )


def _names(node: ast.expr) -> set[str]:
    """The parameter and option names an expression reads (not its functions)."""
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in calls}


@dataclass(frozen=True, init=False)
class ScipyEquivalent:
    """A family's ``scipy.stats`` equivalent: the distribution and how each of
    its arguments is computed from the parameters (and options).

    Args:
        dist: the name of the ``scipy.stats`` distribution (``"gamma"``).
        note: words appended to the text (a convention worth knowing).
        **args: scipy argument name -> expression (``scale="1/rate"``).

    Attributes:
        dist: the distribution's name, ``None`` for :meth:`hand_written`.
        args: ``((scipy argument, expression), ...)`` in declaration order.
        text: what the table shows, ``gamma(a=shape, scale=1/rate)``.
        names: the parameter and option names the expressions read.
    """

    dist: str | None
    args: tuple[tuple[str, str], ...]
    text: str
    names: frozenset[str]
    _evaluators: tuple[Evaluator, ...] = field(repr=False, compare=False)

    def __init__(self, dist: str, /, *, note: str = "", **args: str):
        trees = {k: ast.parse(v.strip(), mode="eval").body for k, v in args.items()}
        call = f"{dist}({', '.join(f'{k}={v}' for k, v in args.items())})"
        self._set(
            dist=dist,
            args=tuple(args.items()),
            text=f"{call}, {note}" if note else call,
            names=frozenset().union(*(_names(t) for t in trees.values())),
            _evaluators=tuple(_compile(t, args[k]) for k, t in trees.items()),
        )

    @classmethod
    def hand_written(cls, text: str) -> ScipyEquivalent:
        """The table's text for a family that writes ``scipy(params)`` itself."""
        self = object.__new__(cls)
        self._set(dist=None, args=(), text=text, names=frozenset(), _evaluators=())
        return self

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def __str__(self) -> str:
        return self.text

    def distribution(self) -> Any:
        """The ``scipy.stats`` distribution object (``scipy.stats.gamma``)."""
        if self.dist is None:
            raise NotImplementedError(f"{self.text!r} is not a scipy.stats distribution")
        from scipy import stats  # scipy is optional at run time

        return getattr(stats, self.dist)

    def freeze(self, params: Mapping[str, Any], options: Mapping[str, Any]) -> Any:
        """The frozen distribution at ``params`` (names not among them are read
        from ``options``, the family's constructor options)."""
        values = {**options, **params}
        kwargs = {k: ev(values) for (k, _), ev in zip(self.args, self._evaluators, strict=True)}
        return self.distribution()(**kwargs)
