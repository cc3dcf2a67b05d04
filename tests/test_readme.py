"""The README's usage examples run and its claims hold."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 4, "README has lost its python examples"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    exec(compile(BLOCKS[index], str(README), "exec"), {})
    if index == 0:
        assert "Gamma(shape, rate)" in capsys.readouterr().out


def _families_table_tool():
    """tools/families_table.py, a script outside the package, as a module."""
    path = ROOT / "tools" / "families_table.py"
    spec = importlib.util.spec_from_file_location("families_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_lists_every_family():
    import jaxmle as jm

    tool = _families_table_tool()
    text = README.read_text()
    table = text.split(tool.START, 1)[1].split(tool.END, 1)[0].strip()
    assert table == tool.families_table(), "run: python tools/families_table.py --write"
    for name in jm.family_names():
        assert f"| `{name}` |" in table, name
