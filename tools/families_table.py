"""The parametrization table of every registered family, generated from the
families themselves (so the README cannot drift from the code).

    python tools/families_table.py           # print the table
    python tools/families_table.py --write   # put it into README.md

The table goes between the ``families-table`` markers of the repository's
README.md; tests/test_readme.py checks that it is up to date. This is a
repository tool, not part of the installed package: it imports the jaxmle of
the checkout it lives in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT))  # this checkout's jaxmle, not an installed one

from jaxmle.families import family_class, family_names  # noqa: E402

__all__ = ["END", "README", "START", "families_table", "update_readme"]

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
    for name in family_names():
        cls = family_class(name)
        support = getattr(cls, "support", None)
        support_text = getattr(support, "description", "set by the options")
        scipy_text = cls.scipy_equivalent.text if cls.scipy_equivalent else "none"
        rows.append(
            f"| `{name}` | `{cls.__name__}` | {_cell(_param_text(cls))} | {_cell(cls.density)} "
            f"| {_cell(support_text)} | `{_cell(scipy_text)}` "
            f"| {'yes' if cls.has_closed_form else 'no'} |"
        )
    return "\n".join(rows)


def update_readme(path: Path = README) -> bool:
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
        print("updated" if update_readme() else "up to date", README)
    else:
        print(families_table())


if __name__ == "__main__":
    main()
