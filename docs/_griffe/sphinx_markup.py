"""A griffe extension for the API reference: jaxmle's docstrings are Google style
with some Sphinx markup, which Markdown would show as raw text. Before griffe
parses a docstring, this rewrites

* roles (``:func:`~jaxmle.fit```, ``:class:`...```, ``:math:`...```) as code spans;
* ``.. math::`` blocks as fenced code blocks;
* an ``Example:`` section title as ``Examples:``, which griffe parses as
  examples (``>>>`` lines become code; ``Example:`` would be an admonition whose
  ``>>>`` lines Markdown reads as nested quotes).

Loaded by mkdocstrings-python from ``mkdocs.yml`` (``extensions:``); it is not
part of the package, and ``exclude_docs`` keeps it out of the built site.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :role:`target` or :role:`~a.b.target` (the ~ shows only the last component).
_ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|attr|data|obj|exc|const|math):`([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:\s*$")


def _role(match: re.Match) -> str:
    role, target = match.groups()
    if role != "math" and target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def _math_blocks(lines: list[str]) -> list[str]:
    """Each ``.. math::`` directive (and its indented continuation) as a fence."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _MATH_DIRECTIVE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, first = match.groups()
        body = [first] if first.strip() else []
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            if not lines[i].strip() and (i + 1 >= len(lines) or not lines[i + 1].strip()):
                break
            body.append(lines[i].strip())
            i += 1
        body = [b for b in body if b]
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}```text", *(f"{indent}{b}" for b in body), f"{indent}```"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    return out


def to_markdown(text: str) -> str:
    """``text`` (a docstring) with its Sphinx markup rewritten for Markdown."""
    lines = _math_blocks(text.split("\n"))
    lines = [_EXAMPLE_TITLE.sub(r"\1Examples:", line) for line in lines]
    return _ROLE.sub(_role, "\n".join(lines))


class SphinxMarkup(griffe.Extension):
    """Rewrite every docstring's Sphinx markup before griffe parses it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
