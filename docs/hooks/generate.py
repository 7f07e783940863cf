"""MkDocs hook: the pages made from the code, so they cannot drift from it.

- ``index.md`` from the README (its links made site-relative);
- ``labs/index.md``: every registered lab, one line each;
- each ``labs/NAME.md`` gets, after its hand-written part, the lab's settings (``LabInfo.settings`` with defaults and
  ranges), every view's card (``cards.py``) and its presets with their measured lessons;
- ``presets.md``: the preset gallery in teaching order, each with its lab's thumbnail;
- ``cli.md`` gets the full reference of every command, from the argparse parsers themselves;
- ``changelog.md`` and ``contributing.md`` from the repository's files; the screenshots and the labs' thumbnails.
"""
from __future__ import annotations

import contextlib
import html
import io
import os
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]


def _strip(text: str) -> str:
    """Card text is rich text (HTML entities, <sub>): Markdown shows it as is; only newlines would break a table."""
    return " ".join(str(text).split())


def _site_links(md: str) -> str:
    md = md.replace("](resources/screenshots/", "](img/screenshots/")
    md = re.sub(r"\]\(docs/([^)]+)\)", r"](\1)", md)
    md = md.replace("](CONTRIBUTING.md)", "](contributing.md)").replace("](CHANGELOG.md)", "](changelog.md)")
    md = md.replace("](LICENSE)", "](https://github.com/genviz/genviz/blob/main/LICENSE)")
    return md


def _labs():
    from genviz.core.labs import all_labs

    return all_labs()


def _presets():
    from genviz.core.presets import all_presets

    return sorted(all_presets(), key=lambda p: (p.order, p.name))


def lab_index() -> str:
    rows = "\n".join(f"| [{lab.title}]({name}.md) | `{name}` | {lab.summary} |" for name, lab in _labs().items())
    return ("# Labs\n\nEvery lab is a plugin (one folder, registered through the `genviz.labs` entry point; see "
            "[adding a lab](../adding-a-lab.md)). Each page below has the lab's story, its settings, every view's "
            "card and its presets.\n\n| lab | name | what you watch |\n|---|---|---|\n" + rows + "\n")


def _range(s) -> str:
    if s.kind == "choice":
        return ", ".join(f"`{c}`" for c in s.choices)
    if s.kind in ("int", "float") and s.minimum is not None:
        return f"{s.minimum:g} … {s.maximum:g}" + (" (log scale)" if s.log_scale else "")
    if s.suggestions:
        return "e.g. " + ", ".join(f"`{v}`" for v in s.suggestions[:6])
    return ""


def lab_sections(name: str) -> str:
    from genviz.core.labs import import_object

    lab = _labs()[name]
    out = ["", "## Settings", "",
           "Generated from the lab's `LabInfo.settings`. *Live*: applies at once; otherwise on Reset.", "",
           "| setting | default | range | live | what it does |", "|---|---|---|---|---|"]
    for s in lab.settings:
        out.append(f"| `{s.name}` | `{s.default}` | {_range(s)} | {'yes' if s.live else ''} | {_strip(s.help)} |")
    cards = import_object(lab.cards) if lab.cards else {}
    out += ["", "## Views and their cards", "",
            "Generated from the lab's `cards.py`: what the ℹ of each view says.", ""]
    for view, card in cards.items():
        out += [f"### {html.unescape(_strip(card.title))} (`{view}`)", "", _strip(card.what), "",
                f"- **Computed:** {_strip(card.formula)}", f"- **Watch for:** {_strip(card.watch)}",
                f"- **Source:** {_strip(card.source)}", ""]
    presets = [p for p in _presets() if p.lab == name]
    out += ["## Presets", ""]
    if not presets:
        out.append("This lab has no lecture presets.")
    for p in presets:
        lesson = p.lesson["what"] if p.lesson else "—"
        state = " Opens at a shipped trained state." if p.trained else ""
        out += [f"- **{p.title}** (`genviz --preset {p.name}`): {_strip(p.caption)}{state} *Lesson:* {lesson}."]
    out.append("")
    return "\n".join(out)


def gallery() -> str:
    labs = _labs()
    out = ["# Preset gallery", "",
           "Every lecture preset in teaching order (Lecture menu; `genviz --preset NAME`). Each states its lesson as a "
           "figure that `genviz bench presets` measures (the [benchmarks](benchmarks.md) page has the times); the "
           "picture is its lab's.", ""]
    for p in _presets():
        lab = labs.get(p.lab)
        title = lab.title if lab else p.lab
        lesson = p.lesson["what"] if p.lesson else "—"
        extra = []
        if p.trained:
            extra.append("opens at a shipped trained state")
        if p.predictions:
            extra.append(f"{len(p.predictions)} question(s) to the class")
        out += [f"## {p.title}", "",
                f"![{title}](img/labs/{p.lab}.png){{ width=\"240\" }}", "",
                f"[{title}](labs/{p.lab}.md) · `genviz --preset {p.name}`" + (f" · {', '.join(extra)}" if extra else ""),
                "", _strip(p.caption), "", f"*Lesson:* {lesson}.", ""]
    return "\n".join(out)


def cli_reference() -> str:
    from genviz import cli

    os.environ["COLUMNS"] = "110"
    out = ["", "## Reference", "", "Generated from the command line's own parsers (`genviz COMMAND --help`).", "",
           "### genviz", "", "```", cli._app_parser().format_help().rstrip(), "```", ""]
    for command in cli.COMMANDS:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            try:
                cli.main([command, "--help"])
            except SystemExit:
                pass
        text = buf.getvalue().rstrip()
        if text:
            out += [f"### genviz {command}", "", "```", text, "```", ""]
    return "\n".join(out)


def api_reference() -> str:
    """The public functions and the ``Run`` class of ``genviz.api``, each with its signature and docstring."""
    import inspect

    from genviz import api

    def entry(name: str, obj, prefix: str = "") -> list[str]:
        try:
            sig = str(inspect.signature(obj))
        except (TypeError, ValueError):
            sig = ""
        doc = inspect.getdoc(obj) or ""
        return [f"### `{prefix}{name}{sig}`", "", doc, ""]

    out = ["", "## Reference", "", "Generated from the docstrings of `genviz.api` (what `import genviz` offers).", ""]
    for name, obj in vars(api).items():
        if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == api.__name__:
            out += entry(f"genviz.{name}", obj)
    out += entry("genviz.Run", api.Run)
    for name, member in vars(api.Run).items():
        if name.startswith("_"):
            continue
        target = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
        if callable(target) or isinstance(member, property):
            heading = f"Run.{name}" + ("" if isinstance(member, property) else _signature(target))
            out += [f"### `{heading}`", "", inspect.getdoc(target) or "", ""]
    return "\n".join(out)


def _signature(obj) -> str:
    import inspect

    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def on_files(files, config):
    docs = Path(config["docs_dir"])
    generated = {
        "index.md": _site_links((ROOT / "README.md").read_text(encoding="utf-8")).replace("](docs/", "]("),
        "labs/index.md": lab_index(),
        "presets.md": gallery(),
        "changelog.md": (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"),
        "contributing.md": _site_links((ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")),
    }
    for uri, content in generated.items():
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=content))
    for png in sorted((ROOT / "resources" / "screenshots").glob("*.png")):
        files.append(File.generated(config, f"img/screenshots/{png.name}", abs_src_path=str(png)))
    for name in _labs():
        thumb = ROOT / "genviz" / "labs" / name / "thumbnail.png"
        if thumb.is_file():
            files.append(File.generated(config, f"img/labs/{name}.png", abs_src_path=str(thumb)))
    del docs
    return files


def on_page_markdown(markdown, page, config, files):
    uri = page.file.src_uri
    m = re.fullmatch(r"labs/(\w+)\.md", uri)
    if m and m.group(1) in _labs():
        return markdown.rstrip() + "\n" + lab_sections(m.group(1))
    if uri == "cli.md":
        return markdown.rstrip() + "\n" + cli_reference()
    if uri == "python-api.md":
        return markdown.rstrip() + "\n" + api_reference()
    return markdown
