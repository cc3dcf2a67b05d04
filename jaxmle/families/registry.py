"""Name -> family registry: ``jm.family("gamma")``, ``jm.families()``."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TypeVar

__all__ = ["families", "family", "register", "resolve"]

_REGISTRY: dict[str, type] = {}

T = TypeVar("T", bound=type)


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make a family available as ``family(name)``."""

    def deco(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a family named {name!r} is already registered")
        _REGISTRY[name] = cls
        return cls

    return deco


def families() -> list[str]:
    """The registered family names, sorted."""
    return sorted(_REGISTRY)


def family_class(name: str) -> type:
    """The class registered as ``name`` (no instance: options not needed)."""
    if name not in _REGISTRY:
        family(name)  # raises the helpful error
    return _REGISTRY[name]


def family(name: str, **options):
    """Instantiate the registered family ``name`` (snake_case, e.g. ``"student_t"``).

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: no family has that name (the message suggests close ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"family name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _REGISTRY:
        close = difflib.get_close_matches(key, _REGISTRY, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown family {name!r}.{hint} Known families: {', '.join(families())}.")
    return _REGISTRY[key](**options)


def resolve(fam):
    """A family instance from an instance, a family class or a registered name."""
    from jaxmle.families.base import Family

    if isinstance(fam, Family):
        return fam
    if isinstance(fam, str):
        return family(fam)
    if isinstance(fam, type) and issubclass(fam, Family):
        return fam()
    raise TypeError(
        f"expected a family (e.g. jm.Gamma()) or a family name, got {type(fam).__name__}"
    )
