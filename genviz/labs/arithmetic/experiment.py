"""The arithmetic lab's experiment: a VAE (trained here, taken over from the manifold lab or read
from a file) and the encoded data the GUI does its latent arithmetic on (pure core, no Qt)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genviz.core.checkpoint import CheckpointError, read_model_file
from genviz.core.experiment import to_numpy
from genviz.core.settings import SettingError
from genviz.labs.arithmetic import LAB
from genviz.labs.arithmetic.latent_ops import factor_directions, slider_basis
from genviz.vae.experiment import VAEExperiment, elbo_numbers

ARCHITECTURE = ("latent", "hidden", "layers", "activation", "likelihood", "sigma")
GROUND_TRUTH_FACTORS = ("pos_x", "pos_y", "scale", "rotation")  # the shapes dataset's continuous factors


class ArithmeticExperiment(VAEExperiment):
    LAB = LAB
    # latent points decoded by the worker for a model the window holds no copy of (your own): the panel's views
    QUERIES = {"decode": {"z": [0.0] * 8, "tag": "image"}}

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None, model=None):
        settings = dict(settings)
        ckpt = None
        if settings.get("model"):
            ckpt = read_model_file(settings["model"], labs=("manifold", "arithmetic"))
            saved_code = ckpt.get("model_code") if isinstance(ckpt.get("model_code"), dict) else None
            if saved_code is not None and model_code is None:
                raise CheckpointError(f"{Path(settings['model']).name} holds a model built by your own code "
                                      f"({saved_code.get('spec')}): open it with --model-code {saved_code.get('spec')}")
            saved = ckpt["settings"]
            # the file decides the architecture and the data it was trained on: its values are
            # checked like typed ones before anything is built from them
            try:
                settings.update({k: LAB.setting(k).parse(saved[k]) for k in ARCHITECTURE if k in saved})
            except SettingError as exc:
                raise CheckpointError(f"{Path(settings['model']).name}: {exc}") from None
            data = ckpt.get("data")
        super().__init__(settings, seed, device, data, model_code, model)
        self.source = "trained here"
        if ckpt is not None:
            try:
                self.model.load_state_dict(ckpt["model"])
            except RuntimeError as exc:
                raise CheckpointError(f"{Path(settings['model']).name}: the weights do not fit the saved "
                                      f"architecture ({str(exc).splitlines()[0]})") from None
            try:
                self.optimizer.load_state_dict(ckpt["optimizer"])
            except (KeyError, ValueError):
                pass  # an optimizer state that does not match only costs Adam's warm start
            self.step_count = int(ckpt.get("step", 0))
            self.source = f"{Path(settings['model']).name} ({ckpt['lab']} lab, step {self.step_count:,})"

    def static_info(self) -> dict:
        info = super().static_info()
        info["model_source"] = self.source
        factors = self.dataset.factors or {}
        info["factors"] = {k: np.asarray(factors[k])[self.eval_idx].astype(np.float64)
                           for k in GROUND_TRUTH_FACTORS if k in factors}
        return info

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        model = self.model.eval()
        mu, _ = model.encode_params(self.x_eval)
        mu_np = to_numpy(mu)
        center, basis, scale, names = slider_basis(mu_np)  # the SVD runs here, not on the GUI thread
        out = {"mu": mu_np, "decoder": model.decoder_layers(),
               "slider_center": center, "slider_basis": basis, "slider_scale": scale, "slider_names": names,
               **elbo_numbers(model.elbo_terms(self.x_test[:1000]))}
        factors = self.dataset.factors or {}
        present = {k: np.asarray(factors[k])[self.eval_idx] for k in GROUND_TRUTH_FACTORS if k in factors}
        if present:
            names, directions, r2, cosines = factor_directions(mu_np, present)
            out.update(factor_names=names, factor_directions=directions.astype(np.float32),
                       factor_r2=r2.astype(np.float32), factor_cosines=cosines.astype(np.float32))
        return out
