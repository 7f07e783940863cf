"""A run as a plain PyTorch script (``genviz export SESSION --format py|ipynb``, File ▸ Export as script…).

A lab that offers it names a ``script`` function in its LabInfo ("module:function"). The function gets a
:class:`ScriptRun` (the session's settings at step 0, seed, data, steps, its live setting changes and partial
steps) and returns a :class:`Script`: titled parts of code. A part's code may use genviz's own functions,
classes and constants by name; :class:`Bundle` copies their source into the script (and what they use in turn,
found from the modules' syntax trees), so the script imports only torch and numpy and runs the very code the
lab trained with. Pure core: no Qt; nothing here runs the code it writes.

Run as ``python script.py`` the script prints one JSON object per training step, ``{"step": n, <metric>:
value, ...}`` with the lab's own metric names, equal to the session's recorded rows (bit-exact on CPU with the
same torch and thread count).
"""
from __future__ import annotations

import ast
import inspect
import json
import sys
import textwrap
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Iterable

from genviz.safeio import InputError

STDLIB = {"math", "json", "sys", "os", "pathlib", "csv", "time", "dataclasses", "typing", "functools", "itertools",
          "copy", "contextlib"}
ALLOWED_ROOTS = {"torch", "numpy", *STDLIB}


class ScriptError(InputError):
    """A session that cannot be written as a script; the message says why, in one line."""


@dataclass
class ScriptRun:
    """What a lab's script function writes out: a run from its start."""

    lab: str
    settings: dict  # every setting of the experiment at step 0 (parsed)
    seed: int
    data: str | None
    steps: int  # training steps, partial ones included
    changes: list[tuple[int, str, Any]] = field(default_factory=list)  # (after step, name, value): live changes
    # step -> (a partial step's name, its arguments): the GAN's lone D update, the Gibbs lab's restarted chains
    parts: dict[int, tuple[str, dict]] = field(default_factory=dict)
    threads: int = 1
    device: str = "cpu"  # where the session trained ("cuda" or "cpu"); the script trains on the CPU

    def schedule(self) -> dict[int, dict]:
        """The live setting changes as {after step: {name: value}}: what the script applies between steps."""
        out: dict[int, dict] = {}
        for step, name, value in self.changes:
            out.setdefault(int(step), {})[name] = value
        return out


class Bundle:
    """genviz source copied into a script: ``need(name, module)`` finds ``name`` among ``module``'s top-level
    definitions and imports, takes its source, and does the same for every name it uses; imports from outside
    genviz become import lines (only torch, numpy and the standard library are allowed)."""

    def __init__(self):
        self.imports: list[str] = []
        self.blocks: list[str] = []
        self._done: dict[str, tuple[str, str]] = {}  # name in the script -> (module, name there)
        self._visiting: set[tuple[str, str]] = set()
        self._tables: dict[str, dict] = {}

    # -- a module's top level --------------------------------------------------------------------------------
    def _table(self, module: ModuleType) -> dict:
        name = module.__name__
        if name not in self._tables:
            source = inspect.getsource(module)
            tree = ast.parse(source)
            defs: dict[str, str] = {}
            nodes: dict[str, ast.AST] = {}
            imports: dict[str, tuple[str, str | None, int]] = {}  # bound name -> (module, attribute or None, level)
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    defs[node.name] = _segment(source, node)
                    nodes[node.name] = node
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        for n in ast.walk(t):
                            if isinstance(n, ast.Name):
                                defs[n.id] = _segment(source, node)
                                nodes[n.id] = node
                elif isinstance(node, ast.Import):
                    for a in node.names:  # import torch / import torch.nn.functional as F
                        imports[a.asname or a.name.split(".")[0]] = (a.name, None, 0, a.asname)
                elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                    for a in node.names:
                        imports[a.asname or a.name] = (node.module or "", a.name, node.level, a.asname)
            self._tables[name] = {"defs": defs, "nodes": nodes, "imports": imports, "module": module}
        return self._tables[name]

    def has(self, name: str, module: ModuleType) -> bool:
        t = self._table(module)
        return name in t["defs"] or name in t["imports"]

    def need(self, name: str, module: ModuleType) -> None:
        """Put ``name`` as ``module`` defines or imports it into the script (once), after what it uses."""
        t = self._table(module)
        key = (module.__name__, name)
        if key in self._visiting:
            return
        if name in self._done:
            if self._done[name] != key and not self._same(name, module):
                raise ScriptError(f"two different '{name}' would meet in one script ({self._done[name][0]} and "
                                  f"{module.__name__})")
            return
        if name in t["imports"]:
            mod, attr, level, alias = t["imports"][name]
            if level:
                raise ScriptError(f"{module.__name__} imports {name} relatively: the script bundler needs absolute "
                                  "imports")
            if mod.split(".")[0] == "genviz":
                if attr is None:
                    raise ScriptError(f"{module.__name__} uses the module {mod} as a whole: a script cannot copy it")
                target = sys.modules.get(mod) or __import__(mod, fromlist=["_"])
                if isinstance(getattr(target, attr, None), ModuleType):
                    raise ScriptError(f"{module.__name__} uses the module {mod}.{attr}: a script cannot copy it")
                self._visiting.add(key)
                self.need(attr, target)
                self._visiting.discard(key)
                self._done[name] = key
                if attr != name:
                    self.blocks.append(f"{name} = {attr}")
                return
            if mod.split(".")[0] not in ALLOWED_ROOTS:
                raise ScriptError(f"{module.__name__} uses {mod}: a script imports only torch, numpy and the "
                                  "standard library")
            line = (f"import {mod}" if attr is None else f"from {mod} import {attr}") + (f" as {alias}" if alias else "")
            if line not in self.imports:
                self.imports.append(line)
            self._done[name] = key
            return
        if name not in t["defs"]:
            raise ScriptError(f"{module.__name__} has no top-level '{name}' for the script")
        self._visiting.add(key)
        for used in _free_names(t["nodes"][name]):
            if used != name and used in t["defs"] or used in t["imports"]:
                self.need(used, module)
        self._visiting.discard(key)
        if name in self._done:  # an assignment of several names, already written for another of them
            return
        block = t["defs"][name]
        for other, node in t["nodes"].items():  # every name the same statement binds
            if node is t["nodes"][name]:
                self._done[other] = (module.__name__, other)
        if block not in self.blocks:
            self.blocks.append(block)

    def _same(self, name: str, module: ModuleType) -> bool:
        """Whether ``module``'s ``name`` is what the script already has under that name (one object, or the
        same import line)."""
        first = self._tables[self._done[name][0]]
        here = self._table(module)
        if name in first["imports"] and name in here["imports"]:
            a, b = first["imports"][name], here["imports"][name]
            if a == b:
                return True
            mod_a, mod_b = (sys.modules.get(a[0]), sys.modules.get(b[0]))
            return mod_a is not None and mod_b is not None and getattr(mod_a, a[1] or "", mod_a) is \
                getattr(mod_b, b[1] or "", mod_b)
        return getattr(first["module"], name, None) is getattr(module, name, object())

    def use(self, code: str, *modules: ModuleType) -> None:
        """Everything ``code`` (a part of the script) uses, from the first of ``modules`` that has it."""
        for used in _free_names(ast.parse(code)):
            for module in modules:
                if self.has(used, module):
                    self.need(used, module)
                    break


def _segment(source: str, node: ast.AST) -> str:
    lines = source.splitlines()
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[start - 1:node.end_lineno])


def _free_names(node: ast.AST) -> list[str]:
    """The names ``node`` reads (annotations left out: the script defers them), in order of appearance."""
    skip: set[int] = set()
    for n in ast.walk(node):
        for ann in _annotations(n):
            skip.update(id(m) for m in ast.walk(ann))
    out: dict[str, None] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in skip:
            out[n.id] = None
    return list(out)


def _annotations(n: ast.AST) -> Iterable[ast.AST]:
    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns is not None:
        yield n.returns
    if isinstance(n, ast.arg) and n.annotation is not None:
        yield n.annotation
    if isinstance(n, ast.AnnAssign):
        yield n.annotation


@dataclass
class Part:
    title: str  # a heading: a notebook's markdown cell, a comment banner in the .py
    code: str
    note: str = ""  # prose under the heading (papers cited, what the part does)


class Script:
    """Titled parts of code and the genviz source they use (a :class:`Bundle`)."""

    def __init__(self, title: str, intro: str = ""):
        self.title, self.intro = title, intro
        self.parts: list[Part] = []
        self.bundle = Bundle()

    def part(self, title: str, code: str, note: str = "", uses: tuple[ModuleType, ...] = ()) -> None:
        code = textwrap.dedent(code).strip("\n")
        ast.parse(code)  # a lab's template that does not parse is a bug: fail here, not in the user's hands
        if uses:
            self.bundle.use(code, *uses)
        self.parts.append(Part(title, code, textwrap.dedent(note).strip()))

    def cells(self) -> list[tuple[str, str]]:
        """(markdown, code) pairs in order: imports, the copied genviz code, then the lab's parts."""
        std = sorted({"import json"} | {i for i in self.bundle.imports if i.split()[1].split(".")[0] in STDLIB})
        third = sorted(set(i for i in self.bundle.imports if i not in std) | {"import numpy as np", "import torch"},
                       key=lambda line: (line.startswith("from"), line))
        head = "\n".join(["from __future__ import annotations", "", *std, "", *third])
        out = [(f"# {self.title}\n\n{self.intro}".strip(), head)]
        if self.bundle.blocks:
            out.append(("## genviz's own code, copied\n\nThe functions and classes the lab trains with, as genviz "
                        "defines them (their docstrings cite the papers).", "\n\n\n".join(self.bundle.blocks)))
        out += [(f"## {p.title}" + (f"\n\n{p.note}" if p.note else ""), p.code) for p in self.parts]
        return out

    def to_py(self) -> str:
        """The script: a docstring, then each part under a ``# %%`` cell marker (editors run them one by one)."""
        chunks = []
        for i, (md, code) in enumerate(self.cells()):
            if i == 0:
                text = "\n\n".join(textwrap.fill(para, 100) for para in md.lstrip("# ").split("\n\n"))
                text = text.replace('"' * 3, "'" * 3)
                chunks.append('"' * 3 + text + "\n" + '"' * 3 + "\n" + code)
                continue
            title, _, note = md.lstrip("# ").partition("\n\n")
            comment = [f"# %% {title}"] + [f"# {line}".rstrip() for line in textwrap.wrap(note, 112)]
            chunks.append("\n".join(comment) + "\n" + code)
        return "\n\n\n".join(chunks) + "\n"

    def to_ipynb(self) -> str:
        cells = []
        for md, code in self.cells():
            cells.append({"cell_type": "markdown", "metadata": {}, "source": md.splitlines(keepends=True)})
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                          "source": code.splitlines(keepends=True)})
        nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                           "language_info": {"name": "python"}}}
        for i, c in enumerate(nb["cells"]):
            c["id"] = f"cell-{i}"
        return json.dumps(nb, indent=1) + "\n"


# -- from a session ---------------------------------------------------------------------------------------------
def script_run(session) -> ScriptRun:
    """The :class:`ScriptRun` of a session: its training state says the settings, the live changes made and the
    thread count; its metric rows say which steps were partial."""
    from genviz.core.checkpoint import state_from_bytes
    from genviz.core.labs import get_lab

    lab = get_lab(session.lab)
    if getattr(session, "model_code", None):
        raise ScriptError(f"this session trained your own model ({session.model_code.get('spec', '?')}): a script "
                          "of it would need your code; export works for the labs' own models")
    if session.state is None:
        raise ScriptError("this session holds no training state (a watched run of your own loop): nothing to "
                          "reproduce")
    state = state_from_bytes(session.state, "saved training state")
    from genviz.core.experiment import _from_storable
    import torch

    current = _from_storable(state.get("settings", {}), torch.device("cpu"))
    log = list(state.get("setting_changes", []))
    initial = dict(current)
    for entry in reversed(log):
        initial[entry["name"]] = entry["was"]
    from genviz.core.labs import import_object

    cls = import_object(lab.experiment)
    settings = cls.parse_settings(initial)
    changes = [(int(e["step"]), str(e["name"]), e["value"]) for e in log]
    parts = {int(p["step"]): (str(p["part"]), dict(p["args"])) for p in state.get("parts_taken", [])}
    cols = session.history.metrics() if session.history is not None else {}
    if "parts_taken" not in state:  # a session of an older genviz: its rows say which steps were partial
        for key, values in cols.items():
            if key.startswith("part_"):
                for step, flag in zip(cols["step"], values):
                    if flag == 1.0:
                        parts[int(step)] = (key[len("part_"):], {})
    steps = int(state["step"])
    if "step" in cols and len(cols["step"]) and int(cols["step"][0]) > 1:
        raise ScriptError(f"this session's recorded steps begin at {int(cols['step'][0])}: it continued a model "
                          "trained elsewhere, which a script from step 0 would not reproduce")
    trained_on = "cuda" if "cuda" in state.get("rng", {}) else "cpu"
    return ScriptRun(lab=session.lab, settings=settings, seed=int(session.seed), data=session.data, steps=steps,
                     changes=changes, parts=parts, threads=int(state.get("threads", 1) or 1), device=trained_on)


def export_script(session, fmt: str = "py") -> str:
    """The session as a script (``fmt`` "py") or a notebook ("ipynb"): its text. ScriptError says why not."""
    from genviz.core.labs import get_lab, import_object

    lab = get_lab(session.lab)
    ref = getattr(lab, "script", "")
    if not ref:
        raise ScriptError(f"the {lab.name} lab does not write its runs as scripts (its LabInfo names no script)")
    run = script_run(session)
    script = import_object(ref)(run)
    return script.to_py() if fmt == "py" else script.to_ipynb()


# -- shared pieces of every lab's script ---------------------------------------------------------------------------
def header_part(script: Script, run: ScriptRun) -> None:
    """Seed, thread count and the run's length: the script's first part."""
    where = ('device = torch.device("cpu")' if run.device == "cpu" else
             'device = torch.device("cpu")  # the session trained on CUDA: on the CPU the rows agree to float rounding '
             'at first, and chaotic training (a GAN) drifts apart')
    script.part("The run", f"""
        SEED = {run.seed}
        STEPS = {run.steps}  # training steps (the session's)
        torch.set_num_threads({run.threads})  # the thread count the session trained with: other counts may change the last bits
        {where}
        """)


def schedule_code(run: ScriptRun) -> str:
    """``SCHEDULE`` (live setting changes, by the step after which they were made) and ``PARTS``."""
    sched = run.schedule()
    lines = ["# live setting changes made during the run, by the step after which each was made (applied before the "
             "next step)", f"SCHEDULE = {pretty(sched)}" if sched else "SCHEDULE = {}"]
    lines.append(f"PARTS = {pretty(run.parts)}  # the steps that were a partial step: (its name, its arguments)"
                 if run.parts else "PARTS = {}  # the steps that were a partial step (none in this run)")
    return "\n".join(lines)


def pretty(value: Any) -> str:
    """A Python literal of plain values (dicts, lists, numbers, strings) that reads back to the same values."""
    text = repr(value)
    if ast.literal_eval(text) != value:
        raise ScriptError(f"a value the script needs has no plain literal: {text[:80]}")
    return text


def settings_code(settings: dict, names: Iterable[str]) -> str:
    """``s = {...}``: the settings the script reads, one per line."""
    lines = ["s = {"]
    for name in names:
        lines.append(f"    {name!r}: {pretty(settings[name])},")
    lines.append("}")
    return "\n".join(lines)


def lr_setting_code(optimizer: str = "opt") -> str:
    """``on_setting`` of a lab whose only live setting that reaches training state is the learning rate (the others
    are read from ``s`` at every step)."""
    return f"""
def on_setting(name, value, step_count):
    if name == "lr":
        for group in {optimizer}.param_groups:
            group["lr"] = value
"""


PRINT_ROW = 'print(json.dumps({"step": step, **row}), flush=True)'


def points_data_part(script: Script, name: str) -> None:
    """``sample_data(n, rng) -> float32 [n, 2]``: the 2-D data a points lab trains on (genviz.data.toy2d), drawn
    with numpy exactly as the lab draws it."""
    from pathlib import Path

    from genviz.data import toy2d

    toy = toy2d.make_toy(name)
    if toy.modes is not None:
        what = {"ring8": "the ring of 8 Gaussians of the PacGAN protocol (Srivastava et al. 2017; Lin et al. 2018)",
                "grid25": "the 5×5 grid of Gaussians of the PacGAN protocol (Lin et al. 2018)",
                "gaussian": "one standard Gaussian"}.get(toy.name, "a mixture of Gaussians placed by hand")
        means = pretty(toy.modes.tolist())
        script.part("The data", f"""
            # {what}: equal weights, std {toy.std!r}
            MEANS = np.array({means})
            STD = {toy.std!r}


            def sample_data(n, rng):
                idx = rng.integers(0, len(MEANS), n)
                return np.asarray(MEANS[idx] + STD * rng.standard_normal((n, 2)), dtype=np.float32)
            """)
        return
    sampler = {"moons": "two_moons", "spiral": "spiral", "checkerboard": "checkerboard"}.get(toy.name)
    if sampler is not None and not Path(name).suffix:
        script.part("The data", f"""
            def sample_data(n, rng):
                return np.asarray({sampler}(n, rng), dtype=np.float32)
            """, note=f"{toy.name}, drawn fresh for every batch.", uses=(toy2d,))
        return
    path = Path(name).expanduser().resolve()
    if path.suffix != ".npy":
        raise ScriptError(f"the data {name!r} is a {path.suffix or 'plain'} file: a script reads 2-D points from a "
                          ".npy file (the window's Draw button writes one); save the points as .npy")
    pts = toy2d.load_points(path)
    span = float(max(pts.max(0) - pts.min(0)))
    script.part("The data", f"""
        # the points file this session trained on: the script reads it from the same place
        POINTS = np.load({str(path)!r}).astype(np.float64)  # [n, 2]
        JITTER = 0.01 * {span!r}  # 1 % of the points' span: a little Gaussian jitter on every resampled point


        def sample_data(n, rng):
            return np.asarray(POINTS[rng.integers(0, len(POINTS), n)] + JITTER * rng.standard_normal((n, 2)),
                              dtype=np.float32)
        """, note=f"The points of {path.name}, resampled with replacement for every batch.")


def loop_part(script: Script, run: ScriptRun, step_call: str, on_setting: str = "on_setting",
              part_call: str = "") -> None:
    """The training loop every lab's script ends with: live changes from ``SCHEDULE`` between steps, partial steps
    from ``PARTS``, one printed JSON row per step; a non-finite loss stops it (the lab refuses that step too)."""
    body = ["    if step in PARTS:",
            "        part, args = PARTS[step]",
            f"        row = {{**{part_call}(part, step - 1, **args), 'part_' + part: 1.0}}",
            "    else:",
            f"        row = {step_call}"] if part_call else [f"    row = {step_call}"]
    lines = ["", "", "for step in range(1, STEPS + 1):",
             "    for name, value in SCHEDULE.get(step - 1, {}).items():",
             "        s[name] = value",
             f"        {on_setting}(name, value, step - 1)",
             *body,
             "    if not all(np.isfinite(v) for v in row.values()):",
             "        print(f'non-finite loss at step {step}: {row} (the update was refused; training stops)')",
             "        break",
             f"    {PRINT_ROW}"]
    script.part("Training", schedule_code(run) + "\n".join(lines))


def images_data_part(script: Script, ref: str | None) -> None:
    """``IMAGES``: float32 [N, H, W] in [0, 1], the images an images lab trains on, read from the same file."""
    from pathlib import Path

    from genviz.data import load_dataset

    if ref is None or str(ref) in ("", "digits"):
        from genviz.data.embedded import resource_path

        path = resource_path("data", "digits_8x8.npz")
        script.part("The data", f"""
            # the 1797 8×8 handwritten digits (UCI optdigits, as scikit-learn bundles them; values 0..16): the file
            # ships inside genviz; copy it next to this script and change the path to run the script elsewhere
            DATA = {str(path)!r}
            with np.load(DATA) as f:
                IMAGES = f["images"].astype(np.float32) / 16.0  # [N, 8, 8] in [0, 1]
            """)
        return
    dataset = load_dataset(ref)  # what the lab read: its source says which file
    source = Path(dataset.source) if dataset.source else None
    if source is None or not source.is_file() or not ("idx" in source.name or source.suffix in ("", ".gz")):
        raise ScriptError(f"the data {ref!r} ({dataset.source or 'generated'}): a script reads images from an IDX "
                          "file (MNIST's format) or the embedded digits; this session's data is neither")
    script.part("The data", f"""
        # the images this session trained on, read from the same IDX file (MNIST's format: a big-endian header,
        # then uint8 pixels)
        import gzip
        import struct

        DATA = {str(source.resolve())!r}
        with open(DATA, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\\x1f\\x8b":
            raw = gzip.decompress(raw)
        ndim = raw[3]
        dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
        IMAGES = np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims).astype(np.float32) / 255.0
        """)
