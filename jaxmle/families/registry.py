"""Name -> family registry: ``jm.family("gamma")``, ``jm.family_names()``.

A family class is registered under its own ``name``, so the name is stated
once, in the class::

    @register
    class Gamma(Family):
        name = "gamma"
        ...

A class that has no ``name`` of its own (a subclass of ``jm.Custom``, say) is
registered with ``@register("gompertz")``, which gives it that name.
Registration is explicit (a decorator, not a side effect of subclassing), so a
subclass made for a test or an experiment does not join the registry unasked.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import NamedTuple, TypeVar, overload

from jaxmle.families.base import Family

__all__ = [
    "FamilyInfo",
    "family",
    "family_class",
    "family_names",
    "family_table",
    "register",
    "resolve",
]

_REGISTRY: dict[str, type[Family]] = {}

F = TypeVar("F", bound=type[Family])


@overload
def register(target: F, /) -> F: ...
@overload
def register(target: str, /) -> Callable[[F], F]: ...


def register(target, /):
    """Class decorator: make a family class available as ``family(name)``.

    ``@register`` registers the class under its ``name`` attribute;
    ``@register("name")`` does the same for a class without one, and sets it
    (a class that has a different ``name`` is an error).

    Raises:
        TypeError: not a :class:`Family` subclass, or no name to register under.
        ValueError: another class is registered under that name.
    """
    if isinstance(target, str):
        return lambda cls: _register(cls, target)
    return _register(target, None)


def _register(cls, name: str | None):
    if not (isinstance(cls, type) and issubclass(cls, Family)):
        raise TypeError(f"register takes a Family subclass, got {cls!r}")
    own = getattr(cls, "name", None)
    if name is None:
        if not isinstance(own, str) or not own:
            raise TypeError(
                f"{cls.__name__} has no name to register under: give the class a "
                'name = "..." attribute, or use @register("...")'
            )
        name = own
    elif own is None:
        cls.name = name
    elif own != name:
        raise ValueError(f"{cls.__name__} is named {own!r}, not {name!r}")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"a family named {name!r} is already registered")
    _REGISTRY[name] = cls
    return cls


def family_names() -> list[str]:
    """The registered family names, sorted."""
    return sorted(_REGISTRY)


def family_class(name: str) -> type[Family]:
    """The class registered as ``name`` (no instance: options not needed)."""
    if name not in _REGISTRY:
        family(name)  # raises the helpful error
    return _REGISTRY[name]


def family(name: str, **options) -> Family:
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
        raise ValueError(
            f"unknown family {name!r}.{hint} Known families: {', '.join(family_names())}."
        )
    return _REGISTRY[key](**options)


def resolve(fam) -> Family:
    """A family instance from an instance, a family class or a registered name."""
    if isinstance(fam, Family):
        return fam
    if isinstance(fam, str):
        return family(fam)
    if isinstance(fam, type) and issubclass(fam, Family):
        return fam()
    raise TypeError(
        f"expected a family (e.g. jm.Gamma()) or a family name, got {type(fam).__name__}"
    )


class FamilyInfo(NamedTuple):
    """One registered family's parametrization, for tables (``jaxmle
    families``, the README's table).

    Attributes:
        name: the registry name.
        class_name: the class (``jm.<class_name>``).
        params: ``(name, set)`` of each parameter; the set's description is
            ``""`` where the constraints depend on the family's options.
        density: the density or mass function, as text.
        support: the data's support, as text.
        scipy: the ``scipy.stats`` equivalent (``"none"``).
        closed_form: whether the MLE has a closed form.
    """

    name: str
    class_name: str
    params: tuple[tuple[str, str], ...]
    density: str
    support: str
    scipy: str
    closed_form: bool


def family_table() -> list[FamilyInfo]:
    """The parametrization of every registered family, in registry order."""
    rows = []
    for name in family_names():
        cls = family_class(name)
        cons = cls.constraints
        sets = isinstance(cons, dict)
        params = tuple((p, cons[p].description if sets else "") for p in cls.param_names)
        support = getattr(cls, "support", None)
        rows.append(
            FamilyInfo(
                name=name,
                class_name=cls.__name__,
                params=params,
                density=str(cls.density),
                support=getattr(support, "description", "set by the options"),
                scipy=cls.scipy_equivalent.text if cls.scipy_equivalent else "none",
                closed_form=bool(cls.has_closed_form),
            )
        )
    return rows
