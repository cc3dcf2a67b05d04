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

from jaxmle.families.registry import family_table  # noqa: E402

__all__ = ["END", "README", "START", "families_table", "update_readme"]

START = "<!-- families-table:start -->"
END = "<!-- families-table:end -->"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def families_table() -> str:
    """A markdown table: name, class, parameters with their sets, density,
    support, scipy.stats equivalent, closed form."""
    rows = [
        "| registry name | class | parameters | density | support | scipy.stats | closed form |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in family_table():
        params = ", ".join(f"`{p}` {s}".rstrip() for p, s in f.params)
        rows.append(
            f"| `{f.name}` | `{f.class_name}` | {_cell(params)} | {_cell(f.density)} "
            f"| {_cell(f.support)} | `{_cell(f.scipy)}` "
            f"| {'yes' if f.closed_form else 'no'} |"
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
