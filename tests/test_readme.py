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

    text = README.read_text()
    for name in jm.families():
        assert f"| `{name}` |" in text, name
