"""The README's usage examples run and its claims hold."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 4, "README has lost its python examples"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    exec(compile(BLOCKS[index], str(README), "exec"), {})
    if index == 0:
        assert "Gamma(shape, rate)" in capsys.readouterr().out


def test_readme_lists_every_family():
    import jaxmle as jm
    from jaxmle.docs import END, START, families_table

    text = README.read_text()
    table = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == families_table(), "run: python -m jaxmle.docs --write"
    for name in jm.families():
        assert f"| `{name}` |" in table, name
