"""File ▸ Open data / image folder / embedded data / Download, and Save model. Files are checked off
the GUI thread; a bad one gives a message and changes nothing: the current data and model stay."""
from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QFileDialog

from genviz.ui.engine_bridge import QueryFailed


class DataActions:
    def __init__(self, window):
        self.w = window

    @property
    def run(self):
        return self.w.controller.run

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Open data", "",
                                              "Data (*.gz *-ubyte *.idx* *.npz *.npy *.csv);;All files (*)")
        if path:
            asyncio.ensure_future(self.load(path))

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.w, "Open a folder of images (one sub-folder per class)")
        if path:
            asyncio.ensure_future(self.load(path))

    def use(self, ref) -> None:
        asyncio.ensure_future(self.use_checked(ref))

    async def use_checked(self, ref) -> bool:
        """Image data for the run: the worker builds the lab on it next to the running model first."""
        if not await self.w.controller.use_data(ref):
            return False
        self.w.training.reset()
        return True

    async def load(self, ref: str) -> bool:
        """Check the data off the GUI thread; on success reset the lab with it, else say why."""
        from genviz.data import load_dataset
        from genviz.data.toy2d import make_toy

        w = self.w
        w.statusBar().showMessage(f"Checking {ref}…")
        if w.labs[self.run.lab].data_kind == "points":
            toy = await self._check(make_toy, ref, "these points")
            if toy is None:
                return False
            if not await w.controller.apply_and_reset({"data": ref}, f"use the points in {ref}"):
                return False
            w.statusBar().showMessage(f"Loaded 2-D data '{toy.name}'", 5000)
            return True
        ds = await self._check(load_dataset, ref, "this data")
        if ds is None:
            return False
        if not await self.use_checked(ref):
            return False
        w.statusBar().showMessage(f"Loaded {ds.name}: {len(ds)} images of {ds.shape[0]}x{ds.shape[1]}", 5000)
        return True

    async def _check(self, read, ref: str, what: str):
        """``read(ref)`` off the GUI thread, or None after a message (a bad file never kills the app)."""
        from genviz.data import DataError

        try:
            return await asyncio.get_event_loop().run_in_executor(None, read, ref)
        except DataError as exc:
            self.w.banner.show_message(f"Could not use {what}: {exc}")
        except Exception as exc:
            self.w.banner.show_message(f"Could not read {ref}: {type(exc).__name__}: {exc}")
        self.w.statusBar().clearMessage()
        return None

    def download(self, name: str) -> None:
        asyncio.ensure_future(self._download(name))

    async def _download(self, name: str) -> None:
        from genviz.data import DataError
        from genviz.data.download import download

        loop = asyncio.get_event_loop()
        status = self.w.statusBar()

        def progress(fname, done, total):
            loop.call_soon_threadsafe(status.showMessage, f"Downloading {fname}: {done / 1e6:.1f} / {total / 1e6:.1f} MB")

        try:
            await loop.run_in_executor(None, lambda: download(name, progress=progress))
        except DataError as exc:
            self.w.banner.show_message(str(exc).splitlines()[0], details=str(exc))
            return
        await self.load(name)

    def save_model_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Save model", f"{self.run.lab}.pt", "Model (*.pt)")
        if path:
            asyncio.ensure_future(self.save_model(path))

    async def save_model(self, path: str) -> None:
        try:
            await self.w.controller.ask("save", path=path)
            self.w.statusBar().showMessage(f"Saved {path}", 5000)
        except QueryFailed as exc:
            self.w.banner.show_message(f"Could not save the model: {exc}")
