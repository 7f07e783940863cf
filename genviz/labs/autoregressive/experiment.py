"""Autoregressive models of binary images: train by exact maximum likelihood, sample pixel by pixel,
complete occluded images, show each model's receptive field (from its gradients)."""
from __future__ import annotations

import math

import numpy as np
import torch

from genviz.core.experiment import Experiment, adam, guarded_update, to_compact, to_numpy
from genviz.data import load_dataset
from genviz.labs.autoregressive import LAB
from genviz.models.autoregressive import MADE, NADE, GatedPixelCNN, PixelCNN, make_order, receptive_field

EVAL = 500  # test images for the NLL of each snapshot
SAMPLES_IN_SNAPSHOT = 16  # drawn with each heavy snapshot when the images are small (D <= 256)
LOG2 = math.log(2.0)


def build_model(settings: dict, height: int, width: int, seed: int):
    D = height * width
    kind = settings["model"]
    if kind == "nade":
        return NADE(D, settings["hidden"], order=make_order(D, settings["order"], seed))
    if kind == "made":
        return MADE(D, (settings["hidden"], settings["hidden"]), masks=settings["masks"], order=settings["order"],
                    seed=seed)
    if kind == "pixelcnn":
        return PixelCNN(height, width, settings["channels"], settings["layers"])
    return GatedPixelCNN(height, width, settings["channels"], settings["layers"] + 1)


class AutoregressiveExperiment(Experiment):
    LAB = LAB

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.dataset = load_dataset(data, seed=self.seed)
        self.shape = tuple(self.dataset.shape)
        n = len(self.dataset)
        gray = torch.from_numpy(self.dataset.images.reshape(n, -1).astype(np.float32))
        perm = np.random.default_rng(self.seed).permutation(n)
        n_test = max(1, min(n // 10, 10000))
        # the test set is binarized once (a fixed set of binary images: an exact NLL); training images
        # are binarized once too, or drawn afresh at every step (dynamic binarization)
        self.x_test = (gray[perm[:n_test]] > 0.5).float().to(self.device)
        self.gray_train = gray[perm[n_test:]].clamp(0, 1)
        self.x_train = (self.gray_train > 0.5).float()
        self.model = build_model(self.settings, *self.shape, self.seed).to(self.device)
        self.opt = adam(self.model.parameters(), lr=self.settings["lr"])
        self.params = list(self.model.parameters())

    @property
    def D(self) -> int:
        return self.shape[0] * self.shape[1]

    def _batch(self, n: int) -> torch.Tensor:
        idx = torch.randint(0, len(self.x_train), (n,), generator=self.gen)
        if self.settings["binarize"] == "dynamic":
            return torch.bernoulli(self.gray_train[idx], generator=self.gen).to(self.device)
        return self.x_train[idx].to(self.device)

    def train_step(self) -> dict[str, float]:
        if isinstance(self.model, MADE) and self.model.n_masks > 1:
            self.model.use_mask(self.step_count % self.model.n_masks)  # order-agnostic training
        x = self._batch(self.settings["batch"])
        nll = -self.model.log_prob(x).mean()
        ok = guarded_update(nll, self.opt, self.params)
        value = float(nll.detach())
        return {"loss": value if ok else float("nan"), "train_nll": value}

    def on_setting(self, name: str, value) -> None:
        if name == "lr":
            for group in self.opt.param_groups:
                group["lr"] = value

    @torch.no_grad()
    def test_nll(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, MADE) and self.model.n_masks > 1:
            return -self.model.log_prob(x, ensemble=True)
        return -self.model.log_prob(x)

    def chosen(self) -> torch.Tensor:
        return self.x_test[self.settings["image"] % len(self.x_test)]

    # -- views ---------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        order = self.model.order.cpu().numpy().copy()
        return {"dataset": self.dataset.name, "image_shape": self.shape, "model": self.settings["model"],
                "order": order, "n_test": len(self.x_test), "D": self.D,
                "test_strip": to_compact(self.x_test[:24])}

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        nll = torch.cat([self.test_nll(c) for c in self.x_test[:EVAL].split(250)]).double()
        x = self.chosen().view(1, -1)
        out = {"test_nll": float(nll.mean()), "test_nll_se": float(nll.std() / math.sqrt(len(nll))) if len(nll) > 1
               else None, "bits_per_dim": float(nll.mean()) / (self.D * LOG2),
               "image": to_compact(x[0]), "image_index": self.settings["image"] % len(self.x_test),
               "pixel_nll": to_numpy(-self.model.pixel_log_prob(x)[0]),
               "conditionals": to_numpy(self.model.conditionals(x)[0])}
        if self.D <= 256:
            out["samples"] = to_compact(self.model.sample(SAMPLES_IN_SNAPSHOT))
            d = self.probe_pixel()
            with torch.enable_grad():
                field = receptive_field(self.model, self.x_test[:8], d)
            r, c = divmod(d, self.shape[1])
            # pixels in the rows above the probe that its prediction never sees: PixelCNN's blind spot
            out.update(probe=d, probe_field=field.astype(np.float32),
                       blind_spot=int((field.reshape(self.shape)[:r] == 0).sum()))
        return out

    def probe_pixel(self) -> int:
        """The pixel whose receptive field each snapshot shows: two thirds down, a quarter across (room on its
        right for PixelCNN's blind spot)."""
        h, w = self.shape
        return (2 * h // 3) * w + w // 4

    def query(self, name: str, **kwargs):
        if name == "sample":  # pixel by pixel, every step's p(x = 1 | x before) for the animation
            n = max(1, min(64, int(kwargs.get("n", 16))))
            steps: list = []
            with torch.no_grad():
                x = self.model.sample(n, generator=torch.Generator().manual_seed(int(kwargs.get("seed", 0))),
                                      steps=steps)
            return {"samples": to_compact(x), "order": np.array([d for d, _ in steps], np.int64),
                    "probs": np.stack([p for _, p in steps]).astype(np.float16) if steps else np.zeros((0, n), np.float16)}
        if name == "complete":  # the top half of the chosen test image given, the rest sampled
            n = max(1, min(32, int(kwargs.get("n", 8))))
            given = torch.zeros(self.D, dtype=torch.bool)
            given[: (self.shape[0] // 2) * self.shape[1]] = True
            with torch.no_grad():
                x = self.model.sample(n, generator=torch.Generator().manual_seed(int(kwargs.get("seed", 0))),
                                      fixed=self.chosen(), mask=given)
            return {"completions": to_compact(x), "given": given.numpy(), "image": to_compact(self.chosen())}
        if name == "receptive":  # which inputs output pixel d depends on: gradients over 8 test images
            d = int(kwargs["d"]) % self.D
            with torch.enable_grad():
                field = receptive_field(self.model, self.x_test[:8], d)
            return {"d": d, "field": field.astype(np.float32)}
        return super().query(name, **kwargs)

    @torch.no_grad()
    def final_metrics(self) -> dict:
        nll = torch.cat([self.test_nll(c) for c in self.x_test.split(500)]).double()
        return {"lab": "autoregressive", "model": self.settings["model"], "steps": self.step_count,
                "dataset": self.dataset.name, "test_images": len(self.x_test),
                "test_nll_nats": float(nll.mean()), "test_nll_se": float(nll.std() / math.sqrt(len(nll))),
                "bits_per_dim": float(nll.mean()) / (self.D * LOG2)}

    def model_state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}
