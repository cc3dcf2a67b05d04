"""What a result keeps to refit its data (profile intervals, the bootstrap,
robust covariances, ``res[i]`` of a batch): the link back to what produced it,
as statsmodels' ``results.model``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from jaxmle._engine.plan import FitOptions

__all__ = ["RefitData"]


@dataclass(frozen=True, eq=False)
class RefitData:
    """The data and options of a fit.

    Attributes:
        x: the data as the fit used them (a device array, or the host batch
            of a ``fit_many``, moved to the device only when refitted).
        w: the weights (``None``: unweighted).
        fixed: the fixed parameters' values.
        options: the options the fit was made with.
        batched: ``x`` and ``w`` have a leading dataset axis (``fit_many``).
        prepare: ``(x, w) -> (x, w)`` device arrays ready to refit (``None``:
            ``x`` and ``w`` are ready as they are).

    Compared and hashed by identity (it holds arrays), so a result holding it
    is still a valid static pytree node.
    """

    x: Any
    w: Any
    fixed: Mapping[str, Any]
    options: FitOptions
    batched: bool = False
    prepare: Callable[[Any, Any], tuple[Any, Any]] | None = None

    def arrays(self) -> tuple[Any, Any]:
        """``(x, w)`` on the device, ready to refit (made when first needed, so
        a batch streamed to the device in chunks is not held there whole)."""
        return (self.x, self.w) if self.prepare is None else self.prepare(self.x, self.w)

    def dataset(self, i: int) -> RefitData:
        """The refit data of the ``i``-th dataset of a batch."""
        if not self.batched:
            raise TypeError("dataset(i) of refit data that is not a batch")
        w = None if self.w is None else self.w[i]
        return replace(self, x=self.x[i], w=w, batched=False)
