"""The documentation site (docs/, mkdocs.yml): every python block of every page
runs, the strict build passes and renders the API reference from the
docstrings, and every page is in the navigation."""

import html
import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
# A block is a fence of its own (not indented), so a block shown inside a list or a
# docstring is not run.
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", flags=re.S | re.M)


def _blocks(page: str) -> list[str]:
    return PYTHON_BLOCK.findall((DOCS / page).read_text())


GUIDES = [p for p in PAGES if not p.startswith("api/") and p != "cli.md"]  # cli.md: shell
RUNNABLE = [p for p in PAGES if _blocks(p)]


def test_every_guide_has_examples():
    assert len(GUIDES) >= 10, GUIDES
    assert [p for p in GUIDES if not _blocks(p)] == []


@pytest.mark.parametrize("page", RUNNABLE)
def test_page_examples_run(page, tmp_path, monkeypatch):
    """A page's blocks run in order in one namespace, so a guide builds on its
    earlier blocks; files they write go to a temporary folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace = {"__name__": f"docs.{page}"}
    for i, block in enumerate(_blocks(page)):
        exec(compile(block, f"docs/{page} (python block {i + 1})", "exec"), namespace)


SHELL_BLOCK = re.compile(r"^```bash\n(.*?)^```\s*$", flags=re.S | re.M)


def test_command_line_page_commands_run(tmp_path, monkeypatch, capsys):
    """Every ``jaxmle ...`` line of docs/cli.md's shell blocks runs as written
    (from a folder holding a copy of examples/) and exits 0; the files the
    page says it writes are there."""
    import shlex
    import shutil

    from jaxmle.cli import main

    lines = [
        ln.strip()
        for block in SHELL_BLOCK.findall((DOCS / "cli.md").read_text())
        for ln in block.splitlines()
        if ln.strip().startswith("jaxmle ")
    ]
    assert len(lines) >= 5, lines
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, (line, capsys.readouterr().err)
    capsys.readouterr()
    assert (tmp_path / "fit.json").stat().st_size > 500
    assert (tmp_path / "fit.png").read_bytes()[:4] == b"\x89PNG"


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for v in node.values() for p in _nav_pages(v)]
    return [p for v in node for p in _nav_pages(v)]


def test_every_page_is_in_the_nav():
    yaml = pytest.importorskip("yaml")
    nav = _nav_pages(yaml.safe_load(CONFIG.read_text())["nav"])
    assert len(nav) == len(set(nav)), "a page is twice in the nav"
    assert sorted(nav) == PAGES, "mkdocs.yml's nav and the pages in docs/ differ"


def test_readme_links_to_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/" in readme, "the README should link to the documentation (docs/)"
    assert "mkdocs" in readme, "the README should say how to build the documentation"


def _sphinx_markup():
    """docs/_griffe/sphinx_markup.py, the griffe extension, as a module."""
    pytest.importorskip("griffe")
    path = DOCS / "_griffe" / "sphinx_markup.py"
    spec = importlib.util.spec_from_file_location("sphinx_markup", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sphinx_markup_becomes_markdown():
    to_markdown = _sphinx_markup().to_markdown
    text = (
        "The outcome of :func:`jaxmle.fit` and :class:`~jaxmle.results.FitResult`,\n"
        r"with :math:`\alpha > 0`:"
        "\n\n"
        r".. math:: \log f(x) = \alpha \log\beta"
        "\n"
        r"          - \log\Gamma(\alpha)"
        "\n\nExample:\n    >>> 1 + 1\n    2\n"
    )
    assert to_markdown(text) == (
        "The outcome of `jaxmle.fit` and `FitResult`,\n"
        r"with `\alpha > 0`:"
        "\n\n```text\n"
        r"\log f(x) = \alpha \log\beta"
        "\n"
        r"- \log\Gamma(\alpha)"
        "\n```\n\nExamples:\n    >>> 1 + 1\n    2\n"
    )


def test_strict_build_renders_the_api_reference(tmp_path):
    """``mkdocs build --strict`` (what CI runs): no warning (a broken link, a page
    outside the nav, a docstring griffe cannot parse), and the reference pages
    hold the docstrings' text, their Sphinx markup rewritten."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr

    results = (site / "api" / "results" / "index.html").read_text()
    assert "Confidence intervals" in results  # FitResult.conf_int's docstring
    assert "profile likelihood" in results
    assert "conf_int" in results and "ManyFitResult" in results
    fitting = (site / "api" / "fitting" / "index.html").read_text()
    assert "by maximum likelihood" in fitting  # jaxmle.fit's summary line
    assert "fit_many" in fitting and "fit_groups" in fitting
    families = (site / "api" / "family-classes" / "index.html").read_text()
    assert "Weibull" in families and "StudentT" in families
    for page in site.joinpath("api").rglob("*.html"):
        content = page.read_text()
        for markup in (":func:`", ":class:`", ":math:`", ".. math::"):
            assert markup not in content, f"{markup} in {page.relative_to(site)}"
    # Doctest examples are rendered as code, not as nested block quotes.
    assert "<blockquote>" not in fitting
    text = html.unescape(re.sub(r"<[^>]+>", "", fitting))
    assert '>>> res = jm.fit("gamma", x)' in text
