"""genviz from Python and notebooks: the labs driven by the same runner as the window's worker and the command line.

```python
import genviz
run = genviz.Run("gan", seed=0, loss="wgan-gp", lr_g=1e-4)   # settings checked as on the command line
run.train(2000)                    # a progress line in a terminal, a live figure in Jupyter
run.metrics["d_loss"]              # numpy arrays by metric name, with "step"
run.image("samples")               # a PIL image of a view at the current step
run.animate("samples", fps=10)     # the recorded history as a GIF (inline in Jupyter)
run.save("gan.genviz"); genviz.open_session("gan.genviz").train(500)
run.window()                       # the window on this run, continuing from where it is
```

What is stable (the public API): :class:`Run` and its methods and properties below, :func:`labs`, :func:`presets`,
:func:`open_session` and :func:`describe`, and the exceptions they raise (``genviz.core.settings.SettingError``
for a bad setting, the one the command line prints; ``genviz.core.session.SessionError`` for a bad session file).

Training, metrics and saving import no Qt: only :meth:`Run.image`, :meth:`Run.animate`, a notebook's live figure
and ``_repr_html_`` draw the lab's own panel off screen (``genviz.ui.offscreen``).
"""
from __future__ import annotations

import base64
import functools
import io
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from genviz.core.settings import SettingError

NOTEBOOK_HZ = 5.0  # the live figure in a notebook: at most this many updates a second
FRAMES_PER_TRAIN = 50  # recorded frames (the views' snapshots) per ``train`` call at most, by default: the timeline
# the share of the training time spent recording frames (a heavy snapshot of some labs costs more than a hundred
# steps), and in a notebook drawing the live figure: together at most 10 % (`genviz bench api` measures it)
FRAME_SHARE = 0.05
NOTEBOOK_SHARE = 0.03  # (each update draws the last recorded frame: drawing, not recording, is its cost)
CHECKPOINT_EVERY = 10  # frames between checkpoints (what the window's "Resume from here" restores)


def labs() -> dict[str, Any]:
    """The labs installed (genviz's own and any plugin's), by name: each a ``genviz.core.labs.LabInfo`` (title,
    summary, settings with their ranges and help)."""
    from genviz.core.labs import all_labs

    return dict(all_labs())


def presets(lab: str | None = None) -> list:
    """The presets (``genviz.core.presets.Preset``: name, lab, title, caption, settings, measured lesson), in the
    order the window lists them; only ``lab``'s with a lab named."""
    from genviz.core.presets import all_presets

    return [p for p in all_presets() if lab is None or p.lab == lab]


def describe(lab: str) -> str:
    """A lab's settings as text: name, default, range or choices, whether it can change while training, and what it
    does (what ``genviz.Run(lab, **settings)`` accepts)."""
    info = _lab(lab)
    lines = [f"{info.title} ({info.name}): {info.summary}", "", "settings (genviz.Run(lab, name=value, ...)):"]
    for s in info.settings:
        if s.choices:
            allowed = " | ".join(map(str, s.choices))
        elif s.minimum is not None or s.maximum is not None:
            allowed = f"{s.minimum:g} to {s.maximum:g}"
        else:
            allowed = s.kind
        live = ", live" if s.live else ""
        lines.append(f"  {s.name} = {s.default!r}  [{allowed}{live}]  {s.help}")
    return "\n".join(lines)


def open_session(path: str | os.PathLike, model_code: str | None = None) -> "Run":
    """A saved session (``Run.save``, File ▸ Save session, ``genviz train --session``) as a Run that continues from
    its last step, with its history. A session of your own model's code runs that code only when you name it again
    here (``model_code="file.py:make"``, the same reference; a file changed since is refused)."""
    from genviz.core.labs import all_labs
    from genviz.core.session import load_session

    return Run._from_session(load_session(path, tuple(all_labs())), model_code)


def _lab(name: str):
    from genviz.core.labs import get_lab

    try:
        return get_lab(name)
    except KeyError as exc:
        raise SettingError(exc.args[0]) from None


def _in_notebook() -> bool:
    """Whether this is a Jupyter kernel (an IPython shell in a terminal is not: it gets the progress line)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class Animation:
    """A recorded history drawn as a GIF: ``data`` (bytes), shown inline in Jupyter, ``save(path)``."""

    def __init__(self, data: bytes, frames: int, fps: int):
        self.data, self.frames, self.fps = data, frames, fps

    def save(self, path: str | os.PathLike) -> Path:
        Path(path).write_bytes(self.data)
        return Path(path)

    def _repr_html_(self) -> str:
        return f'<img src="data:image/gif;base64,{base64.b64encode(self.data).decode()}"/>'

    def __repr__(self) -> str:
        return f"<genviz Animation: {self.frames} frames at {self.fps} fps, {len(self.data):,} bytes of GIF>"


def _own_random(method):
    """The method runs with the run's own torch random stream in place of the process's (set back after): a lab's
    training draws from torch's global generator, and two Runs in one Python session (a notebook comparing two
    models) would otherwise take turns on one stream, each run's steps then depending on the other's."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        import torch

        if self._inside:  # (a live figure drawn while training: the run's stream is already in place)
            return method(self, *args, **kwargs)
        outer = torch.get_rng_state()
        torch.set_rng_state(self._rng)
        self._inside = True
        try:
            return method(self, *args, **kwargs)
        finally:
            self._inside = False
            self._rng = torch.get_rng_state()
            torch.set_rng_state(outer)
    return wrapper


class Run:
    """One run of a lab: ``genviz.Run(lab, seed=0, device="cpu", dataset=None, model_code=None, **settings)``.

    ``settings`` are the lab's (``genviz.describe(lab)`` lists them with their ranges; ``genviz labs`` on the
    command line); a bad one raises ``SettingError`` with the same message the command line prints. ``dataset`` is
    what ``--data`` takes (a data set's name or a file: ``dataset="mnist"``); in a lab without a setting named
    ``data`` (the image labs), ``data=`` means the same. ``model_code`` is your own model (``"file.py:make"``, see
    docs/your-own-model.md): naming it here runs that Python code. ``threads``: torch's CPU threads while it
    trains (1 by default: the labs' models are small, and a second thread contending with
    other work on a laptop's cores slowed a notebook several times over).

    The run trains on the runner the window's worker and ``genviz train`` use, so its metrics, snapshots and
    checkpoints are the same, step for step, for the same seed and settings."""

    _inside = False  # within one of its own methods (``_own_random``)
    stopped: str | None = None  # why the last train() stopped early (a non-finite loss), else None

    def __init__(self, lab: str, seed: int = 0, *, device: str = "cpu", dataset: str | None = None,
                 model_code: str | None = None, threads: int = 1, **settings):
        from genviz.core.history import History
        from genviz.core.protocol import EngineConfig
        from genviz.core.settings import resolve

        info = _lab(lab)
        if "data" in settings and all(s.name != "data" for s in info.settings):
            if dataset is not None:
                raise SettingError("give the data once: dataset= (or data=, in a lab without a data setting)")
            dataset = settings.pop("data")
        data = dataset
        resolve(info.settings, settings)  # SettingError, as on the command line
        code = None
        if model_code is not None:
            from genviz.core.model_code import named

            code = named(info, model_code)
        self.info = info
        self.config = EngineConfig(lab=info.name, settings=dict(settings), seed=int(seed), device=device, data=data,
                                   torch_threads=max(1, int(threads)), model_code=code)
        self.history = History()
        self.title, self.caption = "", ""
        self._view: dict = {}
        self._renderer = None
        self._runner = self._build()

    def _build(self, state: bytes | None = None):
        """The runner (its experiment seeds torch's generator, and a restored state sets it): the run's random
        stream is what that leaves, the caller's is put back."""
        import torch

        from genviz.core.runner import Runner

        outer = torch.get_rng_state()
        try:
            runner = Runner(self.config)
            if state is not None:
                runner.restore(state)
            for name, value in self._view.items():
                runner.exp.set_view(name, value)
            self._rng = torch.get_rng_state()
        finally:
            torch.set_rng_state(outer)
        return runner

    # -- what it is ------------------------------------------------------------------------------------
    @property
    def lab(self) -> str:
        return self.info.name

    @property
    def step(self) -> int:
        """Training steps taken."""
        return self._runner.step_count

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def settings(self) -> dict:
        """Every setting's value now (the lab's defaults for those not given)."""
        names = {s.name for s in self.info.settings}
        return {k: v for k, v in self._runner.exp.settings.items() if k in names}

    @property
    def static(self) -> dict:
        """What the lab's views need besides snapshots (its data, extents...)."""
        return self._runner.static_info()

    @property
    def experiment(self):
        """The lab's experiment (``genviz.core.experiment.Experiment``): its model, optimiser and data, for
        inspection. Changing its training state by hand bypasses the step path (counting, recording)."""
        return self._runner.exp

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        """Every recorded metric row, by metric name, each a numpy array aligned with ``metrics["step"]``."""
        self._take_rows()
        return self.history.metrics()

    @_own_random
    def final_metrics(self, report=None, **options) -> dict:
        """The lab's end-of-run figures (test NLL, mode coverage... with their standard errors), as ``genviz train``
        prints them; ``options`` are the lab's (e.g. the manifold lab's ``iwae=1000``). ``report``: a text stream
        (``sys.stderr``) for the progress of long evaluations (an AIS run)."""
        exp = self._runner.exp
        if report is None:
            return exp.final_metrics(**options)

        def line(text: str) -> None:
            report.write(f"\rfinal metrics: {text}   ")
            report.flush()

        report.write("final metrics…")
        report.flush()
        exp.report = line
        try:
            return exp.final_metrics(**options)
        finally:
            del exp.report  # back to the class's (silent) one
            report.write("\n")
            report.flush()

    @_own_random
    def check(self) -> list[dict]:
        """Check this run: the lab's exact checks of the numbers its views show, on this run's model at this step
        (normalisation, quadrature against Monte Carlo, closed-form KLs, the bounds' order, standard errors by
        repetition), one dict per verdict: ``number``, ``check``, ``passed``, ``detail``, ``kind``, ``key``. Its
        random numbers are its own: the run trains on exactly as it would have."""
        return self._runner.query("check")

    @_own_random
    def snapshot(self) -> dict:
        """What the views show at this step (numpy arrays by name), computed now."""
        return self._runner.snapshot(heavy=True)

    # -- training ----------------------------------------------------------------------------------------
    @_own_random
    def set(self, **settings) -> "Run":
        """Change settings while training, as the window's live controls do (only those marked live, e.g. a
        learning rate); the others need a new Run."""
        specs = {s.name: s for s in self.info.settings}
        for name, value in settings.items():
            spec = specs.get(name)
            if spec is None:
                raise SettingError(f"unknown setting '{name}' for the {self.lab} lab")
            if not spec.live:
                raise SettingError(f"{name} cannot change while training (it applies to a new Run)")
            self._runner.exp.set_setting(name, spec.parse(value))
        return self

    @_own_random
    def train(self, steps: int, *, progress: bool | None = None, frame_every: int | None = None,
              record: bool = True) -> "Run":
        """Train ``steps`` more steps and return the run. Frames of the views (for :meth:`animate`, :meth:`image`
        at a past step and the window's timeline) are recorded at the start, the end and between: every
        ``frame_every`` steps if given, else up to 50 a call within 10 % of the time. ``progress``: a line on
        stderr in a terminal, a live figure of the main view in Jupyter (≤ 5 updates a second, ≤ 10 % of the
        time); None chooses by where it runs. A non-finite loss stops training with ``FloatingPointError``, the
        model kept at its last good step."""
        from genviz.core.experiment import NonFiniteLoss

        steps = int(steps)
        if steps < 0:
            raise SettingError(f"train takes a number of steps >= 0, not {steps}")
        spacing = int(frame_every) if frame_every else max(1, math.ceil(steps / FRAMES_PER_TRAIN))
        notebook = _in_notebook() if progress is None else (bool(progress) and _in_notebook())
        line = (not notebook) and (sys.stderr.isatty() if progress is None else bool(progress))
        report = _NotebookFigure(self) if notebook else _ProgressLine(self.lab, steps, sys.stderr) if line else None
        start, t0 = self.step, time.perf_counter()
        self.stopped = None
        if record and (not len(self.history) or self.history.frames[-1].step != self.step):
            self._record_frame(checkpoint=True)
        # frames within their share of the time so far, counting the first (a cumulative budget)
        next_frame, spent, frames = self.step + spacing, time.perf_counter() - t0, 0
        stopped = None
        try:
            for _ in range(steps):
                try:
                    metrics = self._runner.step()
                except NonFiniteLoss as exc:
                    stopped = str(exc)
                    break
                if record and self.step >= next_frame and (frame_every or time.perf_counter() >= t0 + spent / FRAME_SHARE):
                    began = time.perf_counter()
                    frames += 1
                    self._record_frame(checkpoint=frames % CHECKPOINT_EVERY == 0)
                    spent += time.perf_counter() - began
                    next_frame = self.step + spacing
                if report is not None:
                    report.update(self.step - start, time.perf_counter() - t0, metrics)
        finally:
            if report is not None:
                report.close()
            if record and self.history.frames[-1].step != self.step:
                self._record_frame()
            self._take_rows()
        if stopped:
            self.stopped = stopped
            raise FloatingPointError(f"{self.lab}: {stopped}; the run is at step {self.step:,} "
                                     f"({self.step - start:,} of {steps:,} steps taken)")
        return self

    def _take_rows(self) -> None:
        rows = self._runner.take_rows()
        if rows:
            self.history.add_rows(rows)

    def _record_frame(self, checkpoint: bool = False) -> None:
        self._take_rows()
        frame = self._runner.frame()
        self.history.add_frame(frame.step, frame.data)
        if checkpoint:
            self.history.add_checkpoint(self.step, self._runner.state())

    # -- pictures (the lab's own panel, drawn off screen) -----------------------------------------------
    def views(self) -> list[str]:
        """The names :meth:`image` and :meth:`animate` take (the window's View ▸ Export names), the main one first."""
        return self._render().view_names()

    @_own_random
    def image(self, view: str | None = None, step: int | None = None, width: int | None = None,
              stamp: bool = False, now: bool = True):
        """A PIL image of a view (``views()``; the lab's main view by default; ``"lab"``: the whole panel) at this
        step, or at the recorded frame at or before ``step``. ``width`` in pixels (default: the view at 2x);
        ``stamp``: "step N" in its corner. ``now=False``: the last recorded frame, not a new snapshot of this
        step (what the notebook's live figure shows: recording is paid for once)."""
        from PIL import Image

        if not len(self.history) or (step is None and now and self.history.frames[-1].step != self.step):
            self._record_frame()
        shown = self.history.frames[-1 if step is None else self.history.index_at(int(step))].step
        return Image.fromarray(self._render().draw(view, step, width, shown if stamp else None))

    @_own_random
    def animate(self, view: str | None = None, fps: int = 10, path: str | os.PathLike | None = None,
                max_frames: int = 300, width: int | None = None) -> Animation:
        """The recorded frames of a view as a GIF (an :class:`Animation`: inline in Jupyter; written to ``path``
        too, if given), each stamped with its step."""
        if not len(self.history):
            self._record_frame()
        data, frames = self._render().gif(view, fps, max_frames, width)
        animation = Animation(data, frames, fps)
        if path is not None:
            animation.save(path)
        return animation

    def _render(self):
        from genviz.ui.offscreen import Renderer

        self._take_rows()
        if self._renderer is None:
            self._renderer = Renderer(self.info)
        self._renderer.follow(self.static, self.history, self.step, self.settings)
        return self._renderer

    # -- files and the window ------------------------------------------------------------------------------
    @_own_random
    def to_session(self):
        """The run as a ``genviz.core.session.Session``: settings, seed, state, history and view choices."""
        from genviz.core.session import Session

        self._take_rows()
        return Session(lab=self.lab, settings=self.settings, seed=self.seed, data=self.config.data,
                       device=self.config.device if self.config.device in ("auto", "cpu", "cuda") else "auto",
                       step=self.step, static=self.static, state=self._runner.state(), history=self.history,
                       title=self.title, caption=self.caption, view=dict(self._runner.exp.view),
                       model_code=self.config.model_code)

    def save(self, path: str | os.PathLike) -> Path:
        """Save the run as a session file (what File ▸ Open session, ``genviz export`` and :func:`open_session`
        read)."""
        from genviz.core.session import save_session

        return save_session(self.to_session(), path)

    def script(self, path: str | os.PathLike | None = None, format: str | None = None) -> str:
        """The run so far as a plain PyTorch script (``genviz export SESSION --format py``): torch and numpy only,
        the data, model, loss, optimiser, seed and steps, live changes as a schedule; run with ``python``, it prints
        this run's metric rows again, bit for bit. ``format``: "py" or "ipynb" (a notebook, one cell per part; by
        ``path``'s suffix when not given). Written to ``path`` when given; returns the text. A lab or a run the
        script cannot reproduce raises ``genviz.core.script.ScriptError`` saying why."""
        from genviz.core.script import export_script

        fmt = format or ("ipynb" if path is not None and str(path).endswith(".ipynb") else "py")
        if fmt not in ("py", "ipynb"):
            raise SettingError(f"format is py or ipynb, not {fmt!r}")
        self._take_rows()
        text = export_script(self.to_session(), fmt)
        if path is not None:
            Path(path).write_text(text)
        return text

    @_own_random
    def save_model(self, path: str | os.PathLike) -> Path:
        """The lab's model file (weights and optimiser, read back with ``torch.load(weights_only=True)``)."""
        self._runner.exp.save(str(path))
        return Path(path)

    def window(self, wait: bool = False):
        """Open the window on this run, continuing from where it is (a session of it, saved to a temporary file, in
        a process of its own: the notebook or script goes on). Returns the process (``wait``: after it closes)."""
        import subprocess
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="genviz-run-"))
        path = self.save(folder / f"{self.lab}-step{self.step}.genviz")
        process = subprocess.Popen([sys.executable, "-m", "genviz", f"--session={path}"])
        if wait:
            process.wait()
        return process

    @classmethod
    def from_preset(cls, name: str, from_scratch: bool = False, **settings) -> "Run":
        """A preset's run (``genviz.presets()``): its settings (``settings`` override them), seed, data and view
        choices; a preset that ships a trained state opens at it unless ``from_scratch``."""
        from genviz.core.labs import all_labs
        from genviz.core.presets import get_preset, load_trained

        preset = get_preset(name)
        if preset.trained is not None and not from_scratch and not settings:
            run = cls._from_session(load_trained(preset, tuple(all_labs())), None)
        else:
            run = cls(preset.lab, preset.seed, dataset=preset.data, **{**preset.settings, **settings})
            run._view = dict(preset.view)
            for key, value in run._view.items():
                run._runner.exp.set_view(key, value)  # (a view choice changes no training state)
        run.title, run.caption = preset.title, preset.caption
        return run

    @classmethod
    def _from_session(cls, session, model_code: str | None) -> "Run":
        code = session.model_code
        if code and model_code is None:
            raise SettingError(f"this session trains your model code {code.get('spec')}: name it again to run it "
                               "(genviz.open_session(path, model_code=...))")
        run = cls.__new__(cls)
        from genviz.core.history import History
        from genviz.core.protocol import EngineConfig

        run.info = _lab(session.lab)
        if code:
            from genviz.core.model_code import checked, named

            if named(run.info, model_code)["spec"] != code.get("spec"):
                raise SettingError(f"this session trains {code.get('spec')}, not {model_code}")
            code = checked(code).to_dict()
        run.config = EngineConfig(lab=session.lab, settings=dict(session.settings), seed=int(session.seed),
                                  device="cpu" if session.device == "auto" else session.device, data=session.data,
                                  torch_threads=1, model_code=code)
        run.history = session.history if session.history is not None else History()
        run.title, run.caption = session.title, session.caption
        run._view = dict(session.view or {})
        run._renderer = None
        run._runner = run._build(session.state)
        return run

    # -- how it shows ------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        from genviz.core.settings import resolve

        defaults = resolve(self.info.settings, {})
        changed = ", ".join(f"{k}={v!r}" for k, v in self.settings.items() if defaults.get(k) != v)
        return f"genviz.Run({self.lab!r}, seed={self.seed}{', ' + changed if changed else ''})  # step {self.step:,}"

    def _repr_html_(self) -> str:
        import html

        buf = io.BytesIO()
        self.image(width=640).save(buf, format="PNG")
        png = base64.b64encode(buf.getvalue()).decode()
        return (f"<div><b>{html.escape(self.info.title)}</b> ({html.escape(self.lab)}), step {self.step:,}<br>"
                f'<img src="data:image/png;base64,{png}"/></div>')


class _ProgressLine:
    """``lab: step 1,200/2,000  850 steps/s  loss 1.2345`` on one line of stderr, twice a second."""

    def __init__(self, lab: str, steps: int, out):
        self.lab, self.steps, self.out, self.last, self.start = lab, steps, out, -1.0, None

    def update(self, done: int, seconds: float, metrics: dict) -> None:
        self.start = 0
        if seconds - self.last < 0.5 and done != self.steps:
            return
        self.last = seconds
        name = "loss" if "loss" in metrics else next(iter(metrics), None)
        value = f"  {name} {metrics[name]:.4f}" if name is not None and math.isfinite(metrics[name]) else ""
        self.out.write(f"\r{self.lab}: step {done:,}/{self.steps:,}  {done / max(seconds, 1e-9):,.1f} steps/s{value}   ")
        self.out.flush()

    def close(self) -> None:
        if self.start is not None:
            self.out.write("\n")
            self.out.flush()


class _NotebookFigure:
    """The main view in a Jupyter output, updated in place while ``train`` runs: at most ``NOTEBOOK_HZ`` times a
    second and within ``NOTEBOOK_SHARE`` of the time (the next update waits longer when drawing took longer)."""

    def __init__(self, run: Run):
        from IPython.display import display

        self.run = run
        self.handle = display(self._picture(), display_id=True)  # at once (building the panel: once per Run)
        self.start, self.spent = time.perf_counter(), 0.0  # the updates' budget, cumulative from here
        self.next_at = self.start + 1.0 / NOTEBOOK_HZ

    def _picture(self):
        from IPython.display import Image

        buf = io.BytesIO()
        self.run.image(width=720, stamp=True, now=False).save(buf, format="PNG", compress_level=1)
        return Image(data=buf.getvalue(), format="png")

    def update(self, step: int, seconds: float, metrics: dict) -> None:
        now = time.perf_counter()
        if now < self.next_at:
            return
        self.handle.update(self._picture())
        self.spent += time.perf_counter() - now
        self.next_at = max(now + 1.0 / NOTEBOOK_HZ, self.start + self.spent / NOTEBOOK_SHARE)

    def close(self) -> None:
        self.handle.update(self._picture())
