"""Predict, then reveal (genviz.core.predict): a preset's questions to the class, asked when the run reaches their
step, answered with one click or key, and scored against what the run then did.

Play on a preset with predictions trains only up to the next question (the worker pauses at that step
exactly: ``Play(until)``); the question opens; the answer goes into the run model (``RunModel.answers``); the run
trains on to the reveal step, pauses again, and the reveal says what happened beside what the class said.
Lecture ▸ Predictions shows the lecture's answers (the presenter's notes) and exports them as CSV."""
from __future__ import annotations

import html
import time

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QScrollArea, QTableWidget, QTableWidgetItem, QVBoxLayout)

from genviz.core.predict import PredictionError, answer_record, answers_csv, progress, score
from genviz.ui import theme


def _big(text: str, scale: float = 1.4, bold: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.RichText)
    label.setStyleSheet(f"font-size: {12 * scale * theme.font_scale():.0f}pt;" + (" font-weight: 600;" if bold else ""))
    return label


class QuestionDialog(QDialog):
    """One question: buttons A, B, … (keys A/B/C or 1/2/3) for a choice, a number field, or clicks on the view."""

    def __init__(self, pred, flow, parent=None):
        super().__init__(parent)
        self.pred, self.flow = pred, flow
        self.setWindowTitle("Predict, then watch")
        self.setModal(False)
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        lay.addWidget(_big("Predict before you watch", 1.0, bold=True))
        lay.addWidget(_big(html.escape(pred.question), 1.5, bold=True))
        self.buttons: list[QPushButton] = []
        if pred.kind in ("choice", "lower"):
            for i, text in enumerate(pred.options()):
                b = QPushButton(text)
                b.setStyleSheet(f"font-size: {14 * theme.font_scale():.0f}pt; padding: 10px; text-align: left;")
                b.clicked.connect(lambda _=False, i=i: self.flow.answer(i))
                lay.addWidget(b)
                self.buttons.append(b)
        elif pred.kind == "number":
            row = QHBoxLayout()
            self.field = QLineEdit()
            self.field.setPlaceholderText("a number" + (f" ({pred.unit})" if pred.unit else ""))
            self.field.setStyleSheet(f"font-size: {16 * theme.font_scale():.0f}pt;")
            self.field.returnPressed.connect(self.submit_number)
            ok = QPushButton("Answer")
            ok.clicked.connect(self.submit_number)
            row.addWidget(self.field, 1)
            row.addWidget(ok)
            lay.addLayout(row)
            self.problem = QLabel()
            lay.addWidget(self.problem)
        else:  # click
            self.count = _big("Click on the view where you expect them (0 clicks so far); Enter when done.", 1.1)
            lay.addWidget(self.count)
            row = QHBoxLayout()
            clear, done = QPushButton("Clear clicks"), QPushButton("Done")
            clear.clicked.connect(self.flow.clear_clicks)
            done.clicked.connect(self.flow.submit_clicks)
            row.addWidget(clear)
            row.addWidget(done)
            lay.addLayout(row)
        skip = QDialogButtonBox()
        skip_button = skip.addButton("Skip this question", QDialogButtonBox.RejectRole)
        skip_button.clicked.connect(self.flow.skip)
        lay.addWidget(skip)

    def keyPressEvent(self, event) -> None:
        """A, B, C … or 1, 2, 3 … pick a choice; Enter ends the clicks (one key for the class's answer)."""
        text = event.text().upper()
        if self.buttons and text:
            i = ord(text) - 65 if text.isalpha() else (int(text) - 1 if text.isdigit() else -1)
            if 0 <= i < len(self.buttons):
                self.flow.answer(i)
                return
        if self.pred.kind == "click" and event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.flow.submit_clicks()
            return
        super().keyPressEvent(event)

    def submit_number(self) -> None:
        text = self.field.text().strip().replace("−", "-").replace(",", "")
        try:
            self.flow.answer(float(text))
        except (ValueError, PredictionError):
            self.problem.setText("Type a number, then Enter.")

    def clicks_changed(self, n: int) -> None:
        self.count.setText(f"Click on the view where you expect them ({n} click{'s' if n != 1 else ''} so far); "
                           "Enter when done.")

    def closeEvent(self, event) -> None:
        self.flow.dialog_closed(self)
        super().closeEvent(event)


class RevealDialog(QDialog):
    """What the class said beside what happened."""

    def __init__(self, pred, record: dict, parent=None, on_continue=None):
        super().__init__(parent)
        self.setWindowTitle("What happened")
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        lay.addWidget(_big(html.escape(pred.question), 1.2, bold=True))
        right = record.get("correct")
        c = theme.colors()
        verdict = "✓ Right" if right else "✗ Not this time"
        lay.addWidget(_big(f"<span style='color:{'#2ca02c' if right else c['warn_fg']}'>{verdict}</span>", 1.8, bold=True))
        lay.addWidget(_big(f"<b>You said:</b> {html.escape(str(record['answer']))}", 1.3))
        lay.addWidget(_big(f"<b>At step {record['revealed_at']:,}:</b> {html.escape(str(record['truth']))}", 1.3))
        if record.get("detail"):
            lay.addWidget(_big(html.escape(record["detail"]), 1.0))
        if pred.explain:
            lay.addWidget(_big(f"<i>{html.escape(pred.explain)}</i>", 1.1))
        buttons = QDialogButtonBox()
        go = buttons.addButton("Continue training", QDialogButtonBox.AcceptRole)
        stay = buttons.addButton("Stay paused", QDialogButtonBox.RejectRole)
        go.clicked.connect(lambda: (self.accept(), on_continue and on_continue()))
        stay.clicked.connect(self.reject)
        lay.addWidget(buttons)
        self.record = record


class ClickCollector(QObject):
    """Clicks on a plot, in its data coordinates, drawn as crosses until the answer is in."""

    def __init__(self, plot: pg.PlotWidget, changed):
        super().__init__(plot)
        self.plot, self.changed = plot, changed
        self.points: list[tuple[float, float]] = []
        self.marks = pg.ScatterPlotItem(size=22, symbol="x", pen=pg.mkPen(theme.colors()["accent"], width=3),
                                        brush=pg.mkBrush(theme.colors()["accent"]))
        self.marks.setZValue(100)
        plot.addItem(self.marks)
        plot.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.MouseButtonPress and event.button() == Qt.LeftButton:
            scene = self.plot.mapToScene(event.position().toPoint())
            p = self.plot.getPlotItem().getViewBox().mapSceneToView(scene)
            self.add(p.x(), p.y())
            return True  # the lab's own click handling (pick a point, decode) waits until the answer is in
        return False

    def add(self, x: float, y: float) -> None:
        self.points.append((float(x), float(y)))
        self.marks.setData([p[0] for p in self.points], [p[1] for p in self.points])
        self.changed(len(self.points))

    def clear(self) -> None:
        self.points = []
        self.marks.setData([], [])
        self.changed(0)

    def remove(self) -> None:
        self.plot.viewport().removeEventFilter(self)
        self.plot.removeItem(self.marks)


class PredictionFlow:
    """Asks the current preset's questions at their steps and reveals the answers (state: the run model)."""

    def __init__(self, window):
        self.w = window
        self.dialog: QuestionDialog | None = None
        self.reveal_dialog: RevealDialog | None = None
        self.asking = None  # the prediction whose question is open
        self.asked_at = 0
        self.collector: ClickCollector | None = None
        self.revealing = None  # the prediction waiting for its reveal step's snapshot
        self._panel = None
        window.run.observe("running", self._on_running)

    @property
    def run(self):
        return self.w.controller.run

    def predictions(self) -> tuple:
        p = self.run.preset
        return p.predictions if p is not None and p.lab == self.run.lab else ()

    # -- the step path: Play stops at the next question or reveal -----------------------------------------
    def before_play(self) -> bool:
        """Called on Play: True when the flow took it over (a question to ask first, or training up to the next
        question's step)."""
        preds = self.predictions()
        if not preds or self.dialog is not None:
            return self.dialog is not None
        what, pred, stop = progress(preds, self.run.round_answers(), self.run.step)
        if what == "ask":
            self.ask(pred)
            return True
        if what == "reveal":
            self.await_reveal(pred)
            return True
        if what == "play":
            self.w.controller.play(until=stop)
            return True
        return False

    def _on_running(self, running: bool) -> None:
        if running or not self.predictions() or self.dialog is not None:
            return
        what, pred, _ = progress(self.predictions(), self.run.round_answers(), self.run.step)
        if what == "ask":
            self.ask(pred)
        elif what == "reveal":
            self.await_reveal(pred)

    # -- asking ------------------------------------------------------------------------------------------
    def ask(self, pred) -> None:
        if self.dialog is not None:
            return
        if self.run.running:  # (a question is asked at a pause; never over a running run)
            self.w.controller.pause()
        self.asking, self.asked_at = pred, self.run.step
        self.dialog = QuestionDialog(pred, self, self.w)
        if pred.kind == "click":
            panel = self.w.panel()
            view = panel.views().get(panel.main_view(self.run.values_of(self.run.lab))) if panel else None
            if view is None:
                self.w.statusBar().showMessage("This lab has no view to click on: the question is skipped", 5000)
                self.dialog.deleteLater()
                self.dialog = None
                self.skip()
                return
            self.collector = ClickCollector(view, self.dialog.clicks_changed)
        self.dialog.show()
        if pred.kind == "click":  # beside the views, not over the one clicked on
            top_right = self.w.geometry().topRight()
            self.dialog.move(top_right.x() - self.dialog.width() - 40, top_right.y() + 80)
        else:
            self.dialog.move(self.w.geometry().center() - self.dialog.rect().center())
        self.dialog.raise_()
        self.dialog.activateWindow()
        self.w.statusBar().showMessage(f"Question at step {self.run.step:,}: answer to train on", 8000)

    def clear_clicks(self) -> None:
        if self.collector is not None:
            self.collector.clear()

    def submit_clicks(self) -> None:
        if self.collector is not None and self.collector.points:
            self.answer(list(self.collector.points))

    def answer(self, value) -> None:
        """The class's answer: kept in the run (a reveal to come), then training goes on to the reveal step."""
        pred = self.asking
        if pred is None or self.run.preset is None:  # (the preset was left while its question was open)
            self._close_question()
            return
        record = answer_record(self.run.preset.name, pred, value, self.asked_at, None, 0, time.time())
        self.w.controller.add_answer(record)
        self._close_question()
        self.w.lecture.show_progress()
        self.w.statusBar().showMessage(f"Answer kept: {record['answer']}. Watch: the answer comes at step "
                                       f"{pred.reveal:,}", 8000)
        self.w.training.play()

    def skip(self) -> None:
        """The lecturer skips the question: kept as unanswered (no score), and training goes on."""
        pred = self.asking
        if pred is None or self.run.preset is None:
            self._close_question()
            return
        record = {"preset": self.run.preset.name, "index": int(pred.index), "question": pred.question,
                  "kind": pred.kind, "asked_at": int(self.asked_at), "answer": "(skipped)", "revealed_at": None,
                  "truth": None, "correct": None, "score": None, "detail": "skipped", "time": time.time()}
        # a skipped question is done: no reveal is waited for
        record["revealed_at"] = int(self.asked_at)
        self.w.controller.add_answer(record)
        self._close_question()

    def _close_question(self) -> None:
        if self.collector is not None:
            self.collector.remove()
            self.collector = None
        dialog, self.dialog, self.asking = self.dialog, None, None
        if dialog is not None:
            dialog.hide()
            dialog.deleteLater()

    def dialog_closed(self, dialog) -> None:
        if dialog is self.dialog:  # closed by its window button: the same as skipping
            self.skip()

    # -- revealing ---------------------------------------------------------------------------------------
    def await_reveal(self, pred) -> None:
        """Reveal once the heavy snapshot of the reveal step is on show (the pause asks the worker for one)."""
        panel = self.w.panel()
        if panel is None:
            return
        self.revealing = pred
        if panel.shown is not None and panel.shown[1] == self.run.step and panel.shown[2]:
            self.reveal(panel.shown[0])
            return
        if self._panel is not panel:
            if self._panel is not None:
                try:
                    self._panel.frameShown.disconnect(self._on_frame)
                except (RuntimeError, TypeError):
                    pass
            panel.frameShown.connect(self._on_frame)
            self._panel = panel

    def _on_frame(self, data, step: int, live: bool) -> None:
        pred = self.revealing
        if pred is not None and live and step >= pred.reveal and not self.run.running:
            self.reveal(data)

    def reveal(self, data) -> None:
        pred, self.revealing = self.revealing, None
        if pred is None:
            return
        answers = self.run.answers
        i = next((k for k in range(len(answers) - 1, self.run.answers_from - 1, -1)
                  if answers[k].get("preset") == self.run.preset.name and answers[k]["index"] == pred.index), None)
        if i is None:
            return
        rec = answers[i]
        step = self.run.step
        try:
            outcome = score(pred, rec["raw"], data, self.run.history.metrics(step))
        except (KeyError, ValueError, IndexError) as exc:
            self.w.banner.show_message(f"The prediction could not be scored: this run's snapshot lacks {exc}")
            self.w.controller.replace_answer(i, {**rec, "revealed_at": step, "detail": f"not scored: the snapshot lacks {exc}"})
            return
        rec = {**rec, "revealed_at": step, "truth": outcome.truth_text, "correct": bool(outcome.correct),
               "score": round(float(outcome.score), 4), "detail": outcome.detail}
        self.w.controller.replace_answer(i, rec)
        self.w.lecture.show_progress()
        self.reveal_dialog = RevealDialog(pred, rec, self.w, on_continue=self.w.training.play)
        self.reveal_dialog.show()
        self.reveal_dialog.move(self.w.geometry().center() - self.reveal_dialog.rect().center())

    # -- Check this run ------------------------------------------------------------------------------------
    async def check_run(self) -> list[dict] | None:
        """The lab's exact checks on the running model, in the worker (training pauses): a verdict per on-screen
        number, kept in the run (the cards mark the numbers checked)."""
        from genviz.ui.engine_bridge import QueryFailed

        w, run = self.w, self.run
        lab = run.labs.get(run.lab) if run.lab else None
        if lab is None or not lab.exact_checks:
            w.banner.show_message(f"The {lab.title if lab else ''} lab names no exact checks")
            return None
        w.controller.pause()
        w.statusBar().showMessage("Checking this run: the lab's exact checks run on the model…")
        t0 = time.perf_counter()
        try:
            verdicts = await w.controller.ask("check")
        except QueryFailed as exc:
            w.banner.show_message(f"The run could not be checked: {exc}")
            return None
        w.controller.set_checked(run.step, verdicts)
        self.check_dialog = CheckDialog(verdicts, run.step, time.perf_counter() - t0, w)
        self.check_dialog.show()
        failed = sum(1 for v in verdicts if not v["passed"])
        w.statusBar().showMessage(f"Check this run: {len(verdicts) - failed} of {len(verdicts)} passed", 8000)
        return verdicts

    # -- the lecture's record ----------------------------------------------------------------------------
    def notes(self) -> "AnswersDialog":
        dlg = AnswersDialog(self.run.answers, self.w)
        dlg.show()
        return dlg

    def export_csv(self, path: str | None = None) -> str | None:
        if not self.run.answers:
            self.w.banner.show_message("No predictions answered yet: open a preset with questions (Lecture menu)")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self.w, "Export predictions", "predictions.csv", "CSV (*.csv)")
            if not path:
                return None
        from pathlib import Path

        try:
            Path(path).write_text(answers_csv(self.run.answers), encoding="utf-8")
        except OSError as exc:
            self.w.banner.show_message(f"The predictions could not be written to {path}: {exc.strerror or exc}")
            return None
        self.w.statusBar().showMessage(f"Predictions written to {path}", 5000)
        return path


class AnswersDialog(QDialog):
    """The lecture's predictions: the presenter's notes (question, answer, what happened, right or not)."""

    COLUMNS = ("preset", "question", "answer", "truth", "correct", "asked_at", "revealed_at")

    def __init__(self, answers: list[dict], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Predictions of this lecture")
        lay = QVBoxLayout(self)
        right = sum(1 for a in answers if a.get("correct"))
        scored = sum(1 for a in answers if a.get("correct") is not None)
        lay.addWidget(QLabel(f"{len(answers)} questions asked, {scored} scored, {right} right"))
        table = QTableWidget(len(answers), len(self.COLUMNS))
        table.setHorizontalHeaderLabels([c.replace("_", " ") for c in self.COLUMNS])
        for r, a in enumerate(answers):
            for col, key in enumerate(self.COLUMNS):
                v = a.get(key)
                text = "" if v is None else ("✓" if v is True else "✗" if v is False else str(v))
                table.setItem(r, col, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        lay.addWidget(table)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(900, 400)


class CheckDialog(QDialog):
    """Check this run's verdicts: one row per on-screen number, what was checked, and the numbers that decided."""

    def __init__(self, verdicts: list[dict], step: int, seconds: float, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Check this run: step {step:,}")
        lay = QVBoxLayout(self)
        failed = sum(1 for v in verdicts if not v["passed"])
        c = theme.colors()
        head = (f"<b>{len(verdicts) - failed} of {len(verdicts)} checks passed</b> on the model at step {step:,}, "
                f"on this machine, in {seconds:.1f} s." + (f" <span style='color:{c['warn_fg']}'><b>{failed} failed."
                                                          "</b></span>" if failed else ""))
        lay.addWidget(_big(head, 1.1))
        rows = []
        for v in verdicts:
            mark = ("<span style='color:#2ca02c'>✓</span>" if v["passed"]
                    else f"<span style='color:{c['warn_fg']}'>✗</span>")
            rows.append(f"<p style='margin-bottom:8px'><b>{mark} {html.escape(v['number'])}</b> "
                        f"<span style='color:{c['muted']}'>({html.escape(v['kind'])})</span><br>"
                        f"{html.escape(v['check'])}<br><span style='color:{c['muted']}'>{html.escape(v['detail'])}"
                        "</span></p>")
        self.text = QLabel("".join(rows))
        self.text.setTextFormat(Qt.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.text)
        lay.addWidget(scroll, 1)
        self.rows = len(verdicts)
        lay.addWidget(QLabel("Numbers these checks cover show “checked ✓” on their view's ℹ card at this step."))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(900, 560)
