"""The parametrization table of every registered family, generated from the
families themselves (so the README cannot drift from the code).

``python -m jaxmle.docs`` prints it; ``python -m jaxmle.docs --write`` puts it
into README.md between the ``families-table`` markers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jaxmle.families.registry import families, family_class

__all__ = ["families_table", "update_readme"]

START = "<!-- families-table:start -->"
END = "<!-- families-table:end -->"


def _param_text(cls) -> str:
    cons = cls.constraints
    if isinstance(cons, property) or not isinstance(cons, dict):
        return ", ".join(f"`{p}`" for p in cls.param_names)
    return ", ".join(f"`{p}` {cons[p].description}" for p in cls.param_names)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def families_table() -> str:
    """A markdown table: name, class, parameters with their sets, density,
    support, scipy.stats equivalent, closed form."""
    rows = [
        "| registry name | class | parameters | density | support | scipy.stats | closed form |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in families():
        cls = family_class(name)
        support = getattr(cls, "support", None)
        support_text = getattr(support, "description", "set by the options")
        rows.append(
            f"| `{name}` | `{cls.__name__}` | {_cell(_param_text(cls))} | {_cell(cls.density)} "
            f"| {_cell(support_text)} | `{_cell(cls.scipy_equivalent)}` "
            f"| {'yes' if cls.has_closed_form else 'no'} |"
        )
    return "\n".join(rows)


def update_readme(path: Path) -> bool:
    """Rewrite the table in ``path``; True if it changed."""
    text = path.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{families_table()}\n{END}{tail}"
    if new != text:
        path.write_text(new)
    return new != text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args()
    if args.write:
        readme = Path(__file__).resolve().parents[1] / "README.md"
        print("updated" if update_readme(readme) else "up to date", readme)
    else:
        print(families_table())


if __name__ == "__main__":
    main()
