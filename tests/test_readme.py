"""The README's usage example runs and its claims hold."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs(capsys):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})
    assert "Gamma(shape, rate)" in capsys.readouterr().out


def test_readme_lists_every_family():
    import jaxmle as jm
    from jaxmle.docs import END, START, families_table

    text = README.read_text()
    table = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == families_table(), "run: python -m jaxmle.docs --write"
    for name in jm.families():
        assert f"| `{name}` |" in table, name
