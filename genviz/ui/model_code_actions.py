"""File ▸ Use my model code… and Use the lab's own model: a user's own model in the open lab (``--model-code``
in the window), and the confirmation that any model code needs before it runs (a session that names one)."""
from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from genviz.core.model_code import ModelCodeError, checked, named


class ModelCodeActions:
    def __init__(self, window):
        self.w = window

    def confirm(self, spec: str, why: str = "") -> bool:
        """Ask before any Python code of the user's runs: "this runs the Python code in FILE"."""
        target, factory = spec.rsplit(":", 1)
        box = QMessageBox(QMessageBox.Warning, "Run your model code?",
                          f"{why}This runs the Python code in {target} (its function {factory}) with your rights, "
                          "in genviz's training worker. Only run code you trust.", parent=self.w)
        box.addButton("Run it", QMessageBox.AcceptRole)
        cancel = box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(cancel)
        box.exec()
        return box.clickedButton() is not cancel

    def dialog(self) -> None:
        lab = self.w.labs.get(self.w.run.lab)
        if lab is None or not lab.user_model:
            takes = ", ".join(info.title for info in self.w.labs.values() if info.user_model)
            self.w.banner.show_message(f"This lab takes no model of your own; these do: {takes}")
            return
        family = lab.user_model.upper() if len(lab.user_model) <= 3 else lab.user_model  # VAE, GAN; flow
        path, _ = QFileDialog.getOpenFileName(self.w, f"Your {family} model's Python file", "",
                                              "Python (*.py)")
        if not path:
            return
        factory, ok = QInputDialog.getText(self.w, "The factory",
                                           f"The function in {Path(path).name} that returns your model "
                                           "(it is called with shape=…, likelihood=…, latent=…):", text="make")
        if ok and factory.strip() and self.confirm(f"{path}:{factory.strip()}"):
            asyncio.ensure_future(self.use(f"{path}:{factory.strip()}"))

    async def use(self, spec: str) -> bool:
        """The model of ``spec`` (confirmed) in the open lab: checked by the worker before the running model goes."""
        try:
            code = named(self.w.labs[self.w.run.lab], spec)
        except ModelCodeError as exc:
            self.w.banner.show_message(str(exc))
            return False
        ok = await self.w.controller.use_model_code(code)
        if ok:
            self.w.statusBar().showMessage(f"Training your model: {spec.rsplit('/', 1)[-1]}", 6000)
        return ok

    def use_own(self) -> None:
        asyncio.ensure_future(self.w.controller.use_model_code(None))

    def session_allowed(self, session, name: str) -> bool:
        """A session whose model is the user's own code: its file must be as it was saved (else said), and the
        user confirms running it. True when the session names no code."""
        code = session.model_code
        if not code:
            return True
        try:
            checked(code)
        except ModelCodeError as exc:
            self.w.banner.show_message(f"Could not open {name}: {exc}")
            return False
        return self.confirm(code["spec"], f"{name} was trained on a model of your own code. ")
