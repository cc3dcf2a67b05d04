r"""How a family's parameters follow a change of the data's units.

A continuous family is *equivariant* under ``x -> a + b x`` (``b > 0``) when
the fitted distribution of the transformed data is the transformed
distribution: the normal's ``loc -> a + b loc``, ``scale -> b scale``; the
gamma's ``rate -> rate / b``; the lognormal's ``loc -> loc + log b``. A family
declares this once, as data (:class:`Equivariance`), and the engine uses it
to fit data of any magnitude in well-scaled units (see
:mod:`jaxmle._engine.standardize`): the log-likelihood changes by
``-n log b`` and the estimates map back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["Equivariance"]


class Equivariance(NamedTuple):
    r"""The parameters' response to ``x -> a + b x`` (``b > 0``).

    Attributes:
        location: parameters that move as the data, :math:`\theta \to a + b\theta`
            (a family with any may be shifted; else only ``a = 0`` is used).
        scale: ``{parameter: power}``, :math:`\theta \to b^{power}\theta`
            (``1`` for a scale, ``-1`` for a rate, ``2`` for a variance).
        log_location: parameters on the log scale of the data,
            :math:`\theta \to \theta + \log b` (the lognormal's ``loc``).
    """

    location: tuple[str, ...] = ()
    scale: Mapping[str, int] = {}
    log_location: tuple[str, ...] = ()

    @property
    def shifts(self) -> bool:
        """Whether the data may be shifted (the family has a location)."""
        return bool(self.location)
