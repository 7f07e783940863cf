"""The arithmetic lab's experiment: a VAE (trained here, taken over from the manifold lab or read
from a file) and the encoded data the GUI does its latent arithmetic on (pure core, no Qt)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genviz.core.checkpoint import CheckpointError, read_model_file
from genviz.core.experiment import to_numpy
from genviz.core.mosaic import tile
from genviz.core.settings import SettingError
from genviz.labs.arithmetic import LAB
from genviz.labs.arithmetic.latent_ops import class_transfer_pairs, factor_directions, nearest_centroid, slider_basis
from genviz.vae.experiment import VAEExperiment, elbo_numbers

ARCHITECTURE = ("latent", "hidden", "layers", "activation", "likelihood", "sigma")
GROUND_TRUTH_FACTORS = ("pos_x", "pos_y", "scale", "rotation")  # the shapes dataset's continuous factors
TRANSFER_PER_CLASS = 20  # examples per class moved to every other class by the class-vector analogy


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
        elif self.dataset.labels is not None and len(np.unique(self.dataset.labels)) > 1:
            out["class_transfer"] = self.class_transfer(model, mu_np)
        return out

    @torch.no_grad()
    def class_transfer(self, model, mu: np.ndarray) -> dict:
        """Analogies on labelled data (digits): an example x of class s moved by the class vector, z(x) − z̄_s + z̄_t
        (class means of the encoded points), decoded, and judged by a nearest-class-mean classifier on pixels (fitted
        on the training images; its accuracy on real held-out images is the yardstick): the share that reads as t,
        ± its binomial SE; chance is 1 / classes. The same examples every snapshot."""
        labels = np.asarray(self.dataset.labels)
        eval_labels = labels[self.eval_idx]
        classes = np.unique(eval_labels)
        flat = self.dataset.images.reshape(len(labels), -1)
        centroids = np.stack([flat[self.train_idx][labels[self.train_idx] == c].mean(0) for c in classes])
        real = nearest_centroid(flat[self.test_idx], centroids)
        yardstick = float((classes[real] == labels[self.test_idx]).mean())
        means = np.stack([mu[eval_labels == c].mean(0) for c in classes])
        idx, target = class_transfer_pairs(eval_labels, TRANSFER_PER_CLASS, np.random.default_rng(self.seed + 17))
        src = np.searchsorted(classes, eval_labels[idx])
        tgt = np.searchsorted(classes, target)
        z = mu[idx] - means[src] + means[tgt]
        decoded = to_numpy(model.decode_mean(torch.from_numpy(z).float().to(self.device))).reshape(len(z), -1)
        hit = nearest_centroid(decoded, centroids) == tgt
        acc = float(hit.mean())
        # the figure: one example of each of (up to) 8 classes per row, moved to every class along the columns
        h, w = self.dataset.shape
        rows = [int(np.flatnonzero(eval_labels == c)[0]) for c in classes[:8]]
        zs = np.concatenate([mu[r] - means[np.searchsorted(classes, eval_labels[r])] + means for r in rows])
        imgs = to_numpy(model.decode_mean(torch.from_numpy(zs).float().to(self.device))).reshape(-1, h, w)
        originals = self.dataset.images[self.eval_idx[rows]].reshape(-1, 1, h, w)
        cells = np.concatenate([originals, imgs.reshape(len(rows), len(classes), h, w)], 1).reshape(-1, h, w)
        grid = tile(cells, len(rows), len(classes) + 1, pad=1, fill=0.35)
        return {"grid": (grid * 255).round().astype(np.uint8), "classes": [str(c) for c in classes],
                "accuracy": acc, "accuracy_se": float(np.sqrt(acc * (1 - acc) / len(hit))), "n": int(len(hit)),
                "chance": 1.0 / len(classes), "classifier_accuracy": yardstick,
                "per_target": np.array([hit[tgt == j].mean() for j in range(len(classes))], np.float32)}
