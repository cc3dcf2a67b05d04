"""Results of many fits at once: :class:`ManyFitResult` and :class:`GroupFits`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import jax
import numpy as np

from jaxmle.result import _DATA_FIELDS, _META_FIELDS, FitResult
from jaxmle.solvers.driver import Status, status_message

__all__ = ["GroupFits", "ManyFitResult"]


@dataclasses.dataclass(frozen=True)
class ManyFitResult(FitResult):
    """The fits of :func:`jaxmle.fit_many`: a :class:`FitResult` whose array
    fields (``params``, ``loglik``, ``n``, ``converged``, ``n_iter``,
    ``grad_norm``, ``cov``, ``stderr``, ``aic``, ``bic``, ...) have a leading
    axis over the ``B`` datasets.

    ``res[i]`` is the ``i``-th dataset's ordinary :class:`FitResult`,
    ``len(res) == B``, ``res.messages`` says how each fit ended, and
    :meth:`to_table` / :meth:`to_dataframe` give one row per dataset.

    Attributes:
        notes: per dataset, what was wrong with its data (``""`` for none):
            set for datasets flagged by ``on_invalid="flag"`` and for
            degenerate data.
    """

    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(np.shape(self.loglik)[0])

    def __getitem__(self, i: int) -> FitResult:
        b = len(self)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index a ManyFitResult with an integer, got {type(i).__name__}")
        if not -b <= i < b:
            raise IndexError(f"dataset index {i} is out of range for {b} datasets")
        i = int(i) % b
        data = {k: jax.tree.map(lambda a: a[i], getattr(self, k)) for k in _DATA_FIELDS}
        meta = {k: getattr(self, k) for k in _META_FIELDS if k != "note"}
        one = FitResult(**data, **meta, note=self.notes[i] if self.notes else "")
        ctx = getattr(self, "_context", None)
        if ctx is not None and ctx.batched:  # res[i] can refit its own dataset
            w = None if ctx.w is None else ctx.w[i]
            dataclasses.replace(ctx, x=ctx.x[i], w=w, batched=False).attach(one)
        return one

    def __iter__(self) -> Iterator[FitResult]:
        return (self[i] for i in range(len(self)))

    @property
    def message(self) -> str:
        """A one-line account of the batch (see ``messages`` for each fit)."""
        status = np.asarray(self.status)
        ok = int(np.sum(status == Status.CONVERGED))
        return f"{ok} of {len(self)} fits converged"

    @property
    def messages(self) -> list[str]:
        """How each dataset's fit ended (with the data problem, if any)."""
        status = np.asarray(self.status)
        notes = self.notes or ("",) * len(self)
        closed = self.method == "closed_form"
        base = [
            "closed-form MLE" if closed and s == Status.CONVERGED else status_message(s)
            for s in status
        ]
        return [f"{m}: {n}" if n else m for m, n in zip(base, notes, strict=True)]

    def to_table(self) -> dict[str, np.ndarray]:
        """One row per dataset as a dict of numpy columns: the estimates
        (vector parameters get one column per element, ``name[i]``), their
        standard errors (``se_<name>``), ``loglik``, ``n``, ``aic``, ``bic``,
        ``converged``, ``n_iter`` and ``message``."""
        cols: dict[str, np.ndarray] = {}
        for k, v in self.params.items():
            cols.update(_columns(k, np.asarray(v)))
        for k, v in self.stderr.items():
            cols.update(_columns(f"se_{k}", np.asarray(v)))
        cols["loglik"] = np.asarray(self.loglik)
        cols["n"] = np.asarray(self.n)
        cols["aic"] = np.asarray(self.aic)
        cols["bic"] = np.asarray(self.bic)
        cols["converged"] = np.asarray(self.converged)
        cols["n_iter"] = np.asarray(self.n_iter)
        cols["message"] = np.asarray(self.messages, dtype=object)
        return cols

    def to_dataframe(self, index: Any = None):
        """:meth:`to_table` as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "to_dataframe needs pandas (pip install 'jaxmle[pandas]'); "
                "to_table() gives the same columns as numpy arrays"
            ) from None
        return pd.DataFrame(self.to_table(), index=index)

    def summary(self, level: float = 0.95) -> str:
        """A short account of the batch: counts, and the estimates' spread."""
        status = np.asarray(self.status)
        lines = [
            f"jaxmle fit_many: {self.family!r}    method: {self.method}    datasets: {len(self)}",
            f"converged: {int(np.sum(status == Status.CONVERGED))}    "
            f"invalid: {int(np.sum(status == Status.INVALID_DATA))}    "
            f"degenerate: {int(np.sum(status == Status.DEGENERATE))}    "
            f"other: {int(np.sum(~np.isin(status, [0, 5, 6])))}",
            "",
            f"{'parameter':<12}{'median':>14}{'min':>14}{'max':>14}",
        ]
        for k, v in self.params.items():
            v = np.asarray(v).reshape(len(self), -1)
            for j in range(v.shape[1]):
                col = v[:, j][np.isfinite(v[:, j])]
                label = k if v.shape[1] == 1 else f"{k}[{j}]"
                if col.size:
                    lines.append(
                        f"{label:<12}{np.median(col):>14.6g}{col.min():>14.6g}{col.max():>14.6g}"
                    )
        return "\n".join(lines)

    def __repr__(self) -> str:
        ok = int(np.sum(np.asarray(self.converged)))
        return (
            f"ManyFitResult({self.family.name}: {len(self)} datasets, {ok} converged, "
            f"method={self.method!r})"
        )


def _columns(name: str, v: np.ndarray) -> dict[str, np.ndarray]:
    if v.ndim == 1:
        return {name: v}
    flat = v.reshape(v.shape[0], -1)
    idx = list(np.ndindex(v.shape[1:]))
    return {f"{name}[{','.join(map(str, i))}]": flat[:, j] for j, i in enumerate(idx)}


jax.tree_util.register_dataclass(
    ManyFitResult, data_fields=list(_DATA_FIELDS), meta_fields=[*_META_FIELDS, "notes"]
)


class GroupFits(Mapping):
    """The fits of :func:`jaxmle.fit_groups`: ``{group label: FitResult}``.

    ``fits.batch`` is the underlying :class:`ManyFitResult` (datasets in the
    order of ``fits.labels``, the sorted distinct labels), and
    :meth:`to_table` / :meth:`to_dataframe` add a ``group`` column.
    """

    def __init__(self, labels: np.ndarray, batch: ManyFitResult):
        self.labels = labels
        self.batch = batch
        self._index = {_key(lab): i for i, lab in enumerate(labels.tolist())}

    def __getitem__(self, label: Any) -> FitResult:
        try:
            return self.batch[self._index[_key(label)]]
        except (KeyError, TypeError):
            raise KeyError(f"no group labelled {label!r}") from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.labels.tolist())

    def __len__(self) -> int:
        return len(self.labels)

    def to_table(self) -> dict[str, np.ndarray]:
        return {"group": self.labels, **self.batch.to_table()}

    def to_dataframe(self):
        df = self.batch.to_dataframe(index=self.labels)
        df.index.name = "group"
        return df

    def __repr__(self) -> str:
        return f"GroupFits({len(self)} groups: {self.batch!r})"


def _key(label: Any) -> Any:
    """A hashable lookup key: numpy scalars as Python scalars."""
    return label.item() if isinstance(label, np.generic) else label
