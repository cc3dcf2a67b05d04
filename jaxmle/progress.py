"""Progress bars for long work: on a terminal, quiet everywhere else.

Long work (a streamed fit's passes over a file larger than memory, ``fit_many``
in several calls, the bootstrap's replicate refits, ``select``'s candidate
families, ``jaxmle warmup``) takes ``progress: bool | None = None``:

* ``None`` (auto): a bar on stderr when stderr is a terminal and tqdm is
  installed (the optional extra ``jaxmle[progress]``), and the work has more
  than one step; drawn once the work has taken half a second (quick work
  leaves no trace). Quiet otherwise (pipes, logs, CI, pytest, notebooks), and
  quiet inside another bar that is shown (no nested bars). The environment
  variable ``JAXMLE_PROGRESS`` sets the auto default: ``0`` never, ``1``
  always (where tqdm is installed, even when stderr is not a terminal).
* ``True``: a bar on stderr, always (``ModuleNotFoundError`` without tqdm).
* ``False``: quiet.

Bars are host-side only: they count work after it is dispatched (or where the
host already waits for it), never enter a compiled program or its cache key,
and never make the host wait for the device.

A bottom-layer module: it imports nothing from jaxmle, and every module may
import it.

Example:
    >>> from jaxmle.progress import progress_bar
    >>> with progress_bar(3, "warmup", unit="program", enabled=False) as bar:
    ...     for name in ("gamma", "weibull", "normal"):
    ...         bar.set_postfix_str(name)
    ...         bar.update()
"""

from __future__ import annotations

import os
import sys
import time
from contextvars import ContextVar
from typing import Any

__all__ = ["ENV", "ProgressBar", "progress_bar", "resolve"]

ENV = "JAXMLE_PROGRESS"
_INSTALL = "progress bars need tqdm: pip install 'jaxmle[progress]'"
# Bars shown now, in this thread (an auto bar inside a shown one stays quiet).
_SHOWN: ContextVar[int] = ContextVar("jaxmle_progress_shown", default=0)
# Seconds before an auto bar is first drawn.
_AUTO_DELAY = 0.5


def _tqdm() -> Any:
    """tqdm's bar class, or ``None`` where tqdm is not installed."""
    try:
        from tqdm import tqdm  # optional extra: jaxmle[progress]
    except ImportError:
        return None
    return tqdm


def _terminal() -> bool:
    stream = sys.stderr
    try:
        return stream is not None and bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def resolve(enabled: bool | None, steps: int | None = None) -> bool:
    """Whether a bar is shown for ``enabled`` (``True``, ``False`` or ``None``:
    auto, see the module docstring) and work of ``steps`` steps (``None``:
    unknown); raises ``ModuleNotFoundError`` for ``True`` without tqdm."""
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"progress must be True, False or None, got {enabled!r}")
    if enabled is False:
        return False
    if enabled is True:
        if _tqdm() is None:
            raise ModuleNotFoundError(_INSTALL, name="tqdm")
        return True
    if (steps is not None and steps < 2) or _SHOWN.get() > 0:
        return False
    setting = os.environ.get(ENV, "").strip()
    if setting == "0":
        return False
    return (setting == "1" or _terminal()) and _tqdm() is not None


class ProgressBar:
    """A tqdm bar on stderr, or a quiet stand-in whose methods do nothing.

    Use it as a context manager (the bar is closed, its last line left on the
    terminal, when the block ends); ``shown`` says which it is.
    """

    def __init__(self, bar: Any = None):
        self._bar = bar
        if bar is not None:
            _SHOWN.set(_SHOWN.get() + 1)

    @property
    def shown(self) -> bool:
        """Whether the bar is shown (``False``: every method does nothing)."""
        return self._bar is not None

    @property
    def n(self) -> float:
        """The count so far (0 for a quiet bar)."""
        return 0 if self._bar is None else self._bar.n

    def update(self, n: float = 1) -> None:
        """Add ``n`` to the count (redrawn at most every 0.1 s)."""
        if self._bar is not None:
            self._bar.update(n)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """The text after the bar (the current item); ``refresh=False``: drawn
        with the next ``update``."""
        if self._bar is not None:
            self._bar.set_postfix_str(s, refresh=refresh and self._due())

    def set_description(self, desc: str, refresh: bool = True) -> None:
        """The text before the bar."""
        if self._bar is not None:
            self._bar.set_description(desc, refresh=refresh and self._due())

    def set_total(self, total: int | None) -> None:
        """A new total (``None``: unknown), for work whose size is learnt late."""
        if self._bar is not None:
            self._bar.total = total
            if self._due():
                self._bar.refresh()

    def _due(self) -> bool:
        """Whether the bar may be drawn now (an auto bar waits for its delay)."""
        bar = self._bar
        return time.time() >= bar.start_t + bar.delay

    def close(self) -> None:
        """Draw the bar's last state and let it go (a second call does nothing)."""
        if self._bar is not None:
            bar, self._bar = self._bar, None
            _SHOWN.set(max(_SHOWN.get() - 1, 0))
            bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    total: int | None,
    desc: str,
    *,
    enabled: bool | None = None,
    unit: str = "it",
    steps: int | None = None,
    leave: bool = True,
) -> ProgressBar:
    """A progress bar over ``total`` units of work (``None``: unknown).

    Args:
        total: the units of work (datasets, replicates, chunks, families).
        desc: the text before the bar (``"bootstrap gamma"``).
        enabled: ``True`` (shown; ``ModuleNotFoundError`` without tqdm),
            ``False`` (quiet) or ``None`` (auto: see the module docstring).
        unit: the name of one unit (``"dataset"``).
        steps: how many times the bar will move (compiled calls, chunks);
            in auto mode, work of fewer than two steps gets no bar.
        leave: keep the bar's last line on the terminal when it closes.

    Returns:
        A :class:`ProgressBar` (a context manager).
    """
    if not resolve(enabled, steps):
        return ProgressBar()
    tqdm = _tqdm()
    delay = 0.0 if enabled else _AUTO_DELAY
    return ProgressBar(
        tqdm(
            total=total,
            desc=desc,
            unit=unit,
            leave=leave,
            file=sys.stderr,
            dynamic_ncols=True,
            delay=delay,
        )
    )
