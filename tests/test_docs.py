"""The documentation: the site builds in MkDocs' strict mode (broken links and missing pages fail it), the README is
an index of at most 150 lines from which every lab's page — with its presets and cards — is one click away (two from
the README's reader), and every shell and Python example in the Markdown files parses: Python by the compiler,
genviz command lines against the options of the commands' own parsers."""
import ast
import contextlib
import io
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *ROOT.glob("docs/*.md"), *ROOT.glob("docs/labs/*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def test_the_site_builds_strictly_with_a_page_per_lab(site):
    from genviz.core.labs import all_labs

    for name in all_labs():
        page = (site / "labs" / name / "index.html").read_text()
        if name != "families":
            assert "Views and their cards" in page and "Settings" in page and "Presets" in page, name
    assert "usage: genviz train" in (site / "cli" / "index.html").read_text()
    assert "Run.train(" in (site / "python-api" / "index.html").read_text()  # the API reference from docstrings
    import html

    gallery = html.unescape(re.sub(r"<[^>]+>", "", (site / "presets" / "index.html").read_text()))
    from genviz.core.presets import all_presets

    missing = [p.title for p in all_presets() if p.title not in gallery]
    assert not missing, missing
    assert (site / "changelog" / "index.html").is_file() and (site / "contributing" / "index.html").is_file()


def test_the_readme_is_a_short_index_with_the_two_set_up_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert [b for _lang, b in FENCE.findall(setup)] == ["bash packaging/run-app.sh\n", "bash packaging/run-tests.sh\n"]
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_every_lab_page_is_linked_from_the_readme():
    from genviz.core.labs import all_labs

    text = (ROOT / "README.md").read_text()
    for name in all_labs():
        assert f"(docs/labs/{name}.md)" in text, name
        assert (ROOT / "docs" / "labs" / f"{name}.md").is_file(), name


@lru_cache(maxsize=None)
def options(*command: str) -> frozenset:
    """The long options ``genviz COMMAND --help`` lists."""
    from genviz import cli

    buf = io.StringIO()
    os.environ["COLUMNS"] = "200"
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        try:
            if command:
                cli.main([*command, "--help"])
            else:
                print(cli._app_parser().format_help())
        except SystemExit:
            pass
    return frozenset(re.findall(r"(--[a-z][a-z0-9-]*)", buf.getvalue()))


def genviz_lines():
    for page in PAGES:
        for lang, block in FENCE.findall(page.read_text()):
            if lang not in ("", "bash", "sh", "shell", "console"):
                continue
            for line in block.splitlines():
                line = line.split(" #", 1)[0].strip()
                if line.startswith("genviz ") or line == "genviz":
                    yield page.relative_to(ROOT), line


def test_every_genviz_command_line_in_the_docs_uses_real_options():
    from genviz import cli
    from genviz.core.labs import all_labs

    seen = 0
    for page, line in genviz_lines():
        words = line.split()[1:]
        command = (words[0],) if words and words[0] in cli.COMMANDS else ()
        if command == ("bench",) and len(words) > 1 and not words[1].startswith("-"):
            # a lab's own benchmark, or one of the benchmarks across labs (live LAB, presets, compare, ...)
            command = ("bench", "live", words[2]) if words[1] == "live" else ("bench", words[1])
        if command == ("train",) and len(words) > 1 and words[1] in all_labs():
            command = ("train", words[1])  # a lab's own train options (LabInfo.train_options: --iwae, --ais)
        known = options(*command)
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line):
            assert flag in known, f"{page}: `{line}` — {flag} is not an option of genviz {' '.join(command)}"
        seen += 1
    assert seen >= 50


def test_every_python_example_in_the_docs_compiles():
    seen = 0
    for page in PAGES:
        for lang, block in FENCE.findall(page.read_text()):
            if lang in ("python", "py"):
                code = "\n".join(line[4:] if line.startswith((">>> ", "... ")) else line
                                 for line in block.splitlines())
                try:
                    ast.parse(code)
                except SyntaxError as exc:
                    raise AssertionError(f"{page.relative_to(ROOT)}: {exc}\n{block}") from None
                seen += 1
    assert seen >= 5
