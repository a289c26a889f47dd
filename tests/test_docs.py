"""The documentation: API reference complete, every code block executed.

The ``>>>`` blocks of ``docs/**/*.rst`` run as doctests (``--doctest-glob``
in pyproject.toml), the gallery runs in tests/test_examples.py and at docs
build; this module checks that nothing escapes those two nets.
"""

import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

import sklip

ROOT = pathlib.Path(__file__).parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(
    p
    for p in DOCS.rglob("*.rst")
    if not {"_build", "generated", "auto_examples"} & set(p.parts)
)


def _autosummary_names():
    """``{module: [names]}`` listed in docs/api.rst's autosummary tables."""
    text = (DOCS / "api.rst").read_text()
    names, module = {}, None
    lines = iter(text.splitlines())
    in_table = False
    for line in lines:
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.startswith("   ") and not line.strip().startswith(":"):
            names.setdefault(module, []).append(line.strip())
        elif in_table and line.strip() and not line.startswith("   "):
            in_table = False
    return names


def test_api_reference_lists_every_public_name():
    import sklip.pipeline

    listed = _autosummary_names()
    for module in (sklip, sklip.pipeline):
        names = listed.get(module.__name__, [])
        assert len(names) == len(set(names)), f"a name is listed twice: {names}"
        assert set(names) == set(module.__all__), (
            module.__name__,
            set(module.__all__) ^ set(names),
        )
    # sklip.persistence: save and load are listed as sklip's, the rest as its own.
    import sklip.persistence

    own = set(listed.get("sklip.persistence", []))
    assert own | (set(listed["sklip"]) & set(sklip.persistence.__all__)) == set(
        sklip.persistence.__all__
    )


@pytest.mark.parametrize("name", ["LipschitzMLPClassifier", "LipschitzMLPRegressor"])
def test_html_repr_links_to_the_api_page(name):
    estimator = getattr(sklip, name)()
    url = estimator._get_doc_link()
    # autosummary writes generated/sklip.<Name>.html for every listed name.
    assert url.endswith(f"/generated/sklip.{name}.html")
    assert name in _autosummary_names()["sklip"]
    assert url in estimator._repr_html_()


def _code_blocks(text):
    """``(directive, language, body)`` of every literal code block of a page."""
    blocks = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(
            r"\s*\.\. (code-block|code|sourcecode|literalinclude)::\s*(\S*)", line
        )
        if match:
            body = []
            for follow in lines[i + 1 :]:
                if follow.strip() and not follow.startswith("   "):
                    break
                body.append(follow.strip())
            blocks.append((match.group(1), match.group(2), [b for b in body if b]))
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            blocks.append(("literal", "", []))
    return blocks


def test_docs_have_no_unexecuted_code():
    """Python code in the docs is written as doctests (``>>>``), which pytest
    runs; the only other code blocks are console commands, run below."""
    for page in PAGES:
        for directive, language, _ in _code_blocks(page.read_text()):
            assert directive == "code-block" and language == "console", (
                f"{page.relative_to(ROOT)}: a {directive} {language} block would not "
                "be executed; write Python as a >>> doctest"
            )
    assert any(">>>" in p.read_text() for p in PAGES)


def test_markdown_pages_are_executed_by_a_test():
    """A docs/*.md page's Python blocks are run by a test that names it."""
    tests = " ".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    for page in DOCS.rglob("*.md"):
        if "_build" in page.parts or "```python" not in page.read_text():
            continue
        assert f'"{page.name}"' in tests, f"no test runs the code of {page.name}"


def _console_commands():
    commands = []
    for page in PAGES:
        for _, _, body in _code_blocks(page.read_text()):
            commands += [
                (page.name, line[2:]) for line in body if line.startswith("$ ")
            ]
    return commands


@pytest.mark.parametrize("page, command", _console_commands())
def test_console_commands_run(page, command, tmp_path):
    argv = shlex.split(command)
    if argv[:2] == ["pip", "install"]:
        # Installs are the README's commands, which CI runs on a clean clone.
        assert argv[2].startswith(("sklip", '"sklip', ".", '".')), command
        return
    assert argv[0] == "sklip", command
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklip",
            *argv[1:],
            *(["--n-jobs", "1"] if "demo" in argv else []),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.strip(), f"{command!r} printed nothing"
    if argv[1] == "demo":  # the report lands where docs/cli.rst says
        output = argv[argv.index("--output") + 1] if "--output" in argv else None
        assert (tmp_path / (output or "sklip-report") / "cv_results.csv").is_file()
