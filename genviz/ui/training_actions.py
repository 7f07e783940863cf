"""What the window's training commands do to the open lab's panel, form and timeline: open a lab, reset,
play, pause, step; and what the controller's events show there. The run itself (step, seed, whether it
trains…) is the controller's :class:`~genviz.core.run.RunModel`; the toolbar and the open panel observe it."""
from __future__ import annotations

import asyncio
import traceback

from PySide6.QtCore import Qt, QTimer

from genviz.core.labs import import_object
from genviz.ui.controls import SettingsForm
from genviz.ui.engine_bridge import QueryFailed


class TrainingActions:
    def __init__(self, window):
        self.w = window
        self.c = c = window.controller
        self.run = c.run
        self.autoplay = False  # play once the next reset has built the model
        self.overrides: dict = {}  # command-line --set: for the lab opened first
        self.broken_labs: dict[str, str] = {}  # labs whose panel failed to build: why
        self._reset_scheduled = False
        c.ready.connect(self._on_ready)
        c.snapshot.connect(self._on_snapshot)
        c.resetNeeded.connect(self.reset)
        c.valuesChanged.connect(lambda lab, values: lab in window.forms and window.forms[lab].set_values(values))
        self.run.observe("running", self._on_running)

    # -- labs ----------------------------------------------------------------------------------------------
    def open_lab(self, name: str) -> None:
        """Show lab ``name`` (its panel and settings form are built the first time) and build its run."""
        w, run = self.w, self.run
        if name == run.lab:
            return
        info = run.labs[name]
        if name not in w.panels:
            try:
                panel = import_object(info.panel)(info)
            except Exception as exc:  # a lab whose panel cannot be built: said, and another lab stays open
                self._panel_failed(name, exc)
                return
        problem, kept = self.c.open_lab(name, self.overrides)
        self.overrides = {}  # (the command line's --set: for the lab opened first)
        if problem:
            w.banner.show_message(problem)
        if name not in w.panels:
            panel.statusMessage.connect(lambda text: w.statusBar().showMessage(text, 4000))
            panel.drawFailed.connect(lambda text, details: w.banner.show_message(text, details=details))
            panel.requestSettings.connect(self.c.apply_settings)
            panel.requestView.connect(self.c.set_view)
            panel.requestQuery.connect(lambda n, kw, p=panel: self._request(p, n, kw))
            panel.requestStep.connect(self.c.step)
            form = SettingsForm(info.settings, run.values_of(name))
            form.changed.connect(lambda n, value, live: self.c.edit_setting(n, value, live))
            w.add_lab_widgets(name, panel, form)
        w.panels[name].set_kept_models(run.kept_offers(name))
        if kept is not None:
            w.statusBar().showMessage(f"Exploring the model trained in the {kept[0]} lab (step {kept[2]:,})", 6000)
        w.forms[name].set_values(run.values_of(name))
        w.settings_store.setValue("last_lab", name)
        w.lecture.lab_opened(name)
        w.show_lab_widgets(name)
        if self.c.bridge.started:
            self.reset()
        elif not self._reset_scheduled:
            # start the worker after the first paint: the window appears before torch is imported
            self._reset_scheduled = True
            QTimer.singleShot(0, lambda: self._reset_scheduled and self.reset())

    def _panel_failed(self, name: str, exc: Exception) -> None:
        """The lab's panel raised while being built: the banner says so (the traceback under Details), the
        lab is greyed out in the list, and the lab that was open stays open (or the first that opens)."""
        w, info = self.w, self.run.labs[name]
        self.broken_labs[name] = f"{type(exc).__name__}: {exc}"
        w.banner.show_message(f"The {info.title} lab could not be opened: its panel failed to build "
                              f"({type(exc).__name__}: {str(exc)[:200]})", details=traceback.format_exc())
        for i in range(w.lab_list.count()):
            item = w.lab_list.item(i)
            if item.data(Qt.UserRole) == name:
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled & ~Qt.ItemIsSelectable)
                item.setToolTip(f"{info.summary}\n(could not be opened: {self.broken_labs[name]})")
        current = self.run.lab
        fallback = current if current in w.panels else next(
            (n for n in self.run.labs if n not in self.broken_labs), None)
        if fallback is not None:
            QTimer.singleShot(0, lambda: w.select_in_list(fallback))

    def open_from_menu(self, name: str) -> None:
        """Open lab ``name`` from its File-menu entry (LabInfo.menu): a points lab takes over the open lab's 2-D data
        set (its ``data`` setting) when the open lab has one."""
        problem = self.c.carry_data(name)
        if problem:
            self.w.banner.show_message(problem)
        self.open_lab_with(name, self.run.values_of(name))

    def open_lab_with(self, name: str, values: dict) -> None:
        """Switch to lab ``name`` (the run holds its settings) and reset it once."""
        if name != self.run.lab:
            self.w.select_in_list(name)  # opens the lab, which resets it
            return
        self.w.forms[name].set_values(values)
        self.reset()

    def _request(self, panel, name: str, kwargs: dict) -> None:
        """A panel's query, asked of the worker; none once the window closed or its event loop is gone (a view
        drawn in a timer as the app shuts down)."""
        if self.w.closed:
            panel.on_query_failed(name)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            try:
                loop = asyncio.get_event_loop()
            except RuntimeError:
                loop = None
            if loop is None or loop.is_closed():
                panel.on_query_failed(name)
                return
        asyncio.ensure_future(self._panel_query(panel, name, kwargs))

    async def _panel_query(self, panel, name: str, kwargs: dict) -> None:
        try:
            value = await self.c.ask(name, **kwargs)
        except QueryFailed as exc:
            self.w.banner.show_message(f"'{name}' failed: {exc}")
            panel.on_query_failed(name)
            return
        except asyncio.CancelledError:
            panel.on_query_failed(name)
            return
        panel.on_reply(name, value)

    # -- training commands -----------------------------------------------------------------------------------
    def request_reset(self) -> None:
        """Reset as the user asks for it (Ctrl+R): the settings' new run is first built next to
        the running one, which goes on when that fails. A lost worker's run continues at once."""
        if not self.c.bridge.healthy or self.c.lost_config is not None:
            self.reset()
            return

        async def checked():
            if await self.c.attempt(lambda run: None, "reset with these settings"):
                self.reset()

        asyncio.ensure_future(checked())

    def reset(self) -> None:
        self._reset_scheduled = False
        w = self.w
        if self.run.lab is None or w.closed:
            return  # (a reset scheduled before the window closed must not start a new worker)
        w.banner.hide_run_messages()
        w.panel().clear()
        self.c.reset()
        w.panel().show_recorded(None)
        w.timeline.clear()
        w.timeline.set_steps(self.run.history.steps.tolist())
        if self.autoplay:
            self.autoplay = False
            self.play()

    def play(self) -> None:
        if self.c.is_lost:  # continue the lost run in a new worker, then play
            self.autoplay = True
            self.reset()
            return
        flow = getattr(self.w, "predictions", None)
        if flow is not None and flow.before_play():  # a preset's question first, or train up to it
            return
        self.c.play()

    def pause(self) -> None:
        self.c.pause()

    def toggle_play(self) -> None:
        self.pause() if self.run.running else self.play()

    def do_step(self, n: int = 1) -> None:
        self.c.step(n)

    # -- what the controller reports -------------------------------------------------------------------------
    def _on_ready(self, info, continued: bool) -> None:
        w, run = self.w, self.run
        if run.lab in w.forms:
            w.forms[run.lab].set_not_used(run.static.get("unused_settings", {}))
        panel = w.panel()
        if panel is None:
            return
        panel.on_ready(run.static)
        panel.set_view_state(run.view_of(run.lab))
        if continued:
            panel.rebuild(run.static, run.history, run.step)
            panel.set_view_state(run.view_of(run.lab))
            w.timeline.set_steps(run.history.steps.tolist())
            w.statusBar().showMessage(f"Opened the session at step {run.step:,}: the timeline holds its history", 6000)

    def _on_running(self, running: bool) -> None:
        self.w.bar.set_playing(running)
        if self.w.panel() is not None:
            self.w.panel().on_state(running)

    def _on_snapshot(self, snap, new_frame: bool) -> None:
        w = self.w
        if new_frame:
            w.timeline.set_steps(self.run.history.steps.tolist(), self.run.step)
        if w.panel() is not None:
            # while the timeline shows the past, live snapshots only extend the curves
            w.panel().take_live(snap, follow=w.timeline.live)
            w.frames_drawn += 1
