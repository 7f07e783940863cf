"""Autoregressive models of binary images: train by exact maximum likelihood, sample pixel by pixel,
complete occluded images, show each model's receptive field (from its gradients)."""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

from genviz.core.experiment import Experiment, adam, guarded_update, half, to_compact, to_numpy
from genviz.data import load_dataset
from genviz.data.images import DataError
from genviz.safeio import check_model_memory
from genviz.labs.autoregressive import LAB
from genviz.data.toy2d import make_toy
from genviz.models.autoregressive import (MADE, NADE, BinnedAR2D, DiagonalBiLSTM, GatedPixelCNN, PixelCNN, RowLSTM, WaveNet, blind_spot, make_order,
                                          receptive_field)

EVAL = 500  # test images for the NLL of each snapshot
MAX_PIXELS = 4096  # 64 x 64: NADE holds a [batch, D, hidden] tensor; larger images would exhaust memory
# binarized MNIST, docs/references.md: NADE (Larochelle & Murray 2011) and PixelCNN (van den Oord et al. 2016a)
PUBLISHED_MNIST = {"nade": 88.86, "pixelcnn": 81.30}
SAMPLES_IN_SNAPSHOT = 16  # drawn with each heavy snapshot when the images are small (D <= 256)
LOG2 = math.log(2.0)


def mean_se(values: torch.Tensor) -> float | None:
    return float(values.std() / math.sqrt(len(values))) if len(values) > 1 else None


def training_bytes(settings: dict, height: int, width: int) -> float:
    """The memory a training step of ``build_model(settings, height, width)`` takes (float32, CPU), from its
    settings, before it is built: weights, gradients and Adam's two moments, and the activations kept for the
    backward pass, with factors measured on torch 2.13 (one step's peak RSS: NADE 4.8-5.0x its [batch, D, hidden]
    tensor, MADE 6x its weights plus a mask set per ordering, PixelCNN 1.5-2.4x its feature maps, the gated
    stacks 13-14x theirs)."""
    D, B, f = height * width, settings["batch"], 4.0
    kind = settings["model"]
    if kind == "nade":
        H = settings["hidden"]
        return f * (4 * 2 * D * H + 5.0 * B * D * H)
    if kind == "made":
        H = settings["hidden"]
        weights = D * H + H * H + H * D
        return f * (weights * (6 + settings["masks"]) + 4 * B * (2 * H + D))
    if kind in ("rowlstm", "diagonal"):  # per position: the gates, cell and state, kept for the backward pass (an estimate)
        c = settings["channels"]
        return f * (4 * 2 * 4 * c * (c + 1) * 3 + 10 * B * 4 * c * D)
    c, layers = settings["channels"], settings["layers"] + 1
    per_map = B * c * D * layers
    # WaveNet: filter, gate, their product, residual and skip maps per layer (1-D, kernel 2): an estimate, 8x
    return f * (per_map * {"pixelcnn": 2.5, "wavenet": 8.0}.get(kind, 14.0) + 4 * 10 * c * c * layers)


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
    if kind == "wavenet":
        return WaveNet(D, settings["channels"], settings["layers"])
    if kind == "rowlstm":
        return RowLSTM(height, width, settings["channels"])
    if kind == "diagonal":
        return DiagonalBiLSTM(height, width, settings["channels"])
    return GatedPixelCNN(height, width, settings["channels"], settings["layers"] + 1)


def official_test_split(dataset) -> torch.Tensor | None:
    """The test split of a downloaded MNIST-like set (the papers test on it), when it is cached: [n, D] grey
    levels; None for any other data (a split is held out at random)."""
    if dataset.name not in ("mnist", "fashion-mnist"):
        return None
    try:
        from genviz.data.download import cached_dataset

        test = cached_dataset(dataset.name, "test")
    except (DataError, OSError):
        return None
    if tuple(test.shape) != tuple(dataset.shape):
        return None
    return torch.from_numpy(test.images.reshape(len(test), -1).astype(np.float32))


class AutoregressiveExperiment(Experiment):
    LAB = LAB
    # what a user's own model (--model-code) decides itself
    NETWORK_SETTINGS = ("model", "hidden", "channels", "layers", "order", "masks")

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None):
        super().__init__(settings, seed, device, data)
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.toy = None
        self.model_code = model_code  # a user's own model of binary images (--model-code), or None: the lab's
        if self.settings["points"]:
            if model_code is not None:
                from genviz.core.model_code import ModelCodeError

                raise ModelCodeError(f"model code {model_code.spec}: your model learns images here; the 2-D points "
                                     "setting is for the lab's own binned model (clear points)")
            self._build_toy()
            return
        self.dataset = load_dataset(data, seed=self.seed)
        self.shape = tuple(self.dataset.shape)
        n = len(self.dataset)
        if self.D > MAX_PIXELS or self.D < 2 or n < 2:
            raise DataError(f"{self.dataset.source or self.dataset.name}: the autoregressive lab models binary images "
                            f"of 2 to {MAX_PIXELS} pixels (up to 64x64) and needs at least 2 of them; this data has "
                            f"{n} images of {self.shape[0]}x{self.shape[1]}: downscale or crop it")
        images = self.dataset.images.reshape(n, -1).astype(np.float32)
        # grey levels (anything but 0 and 1) are binarized: at 0.5, or by a Bernoulli draw (dynamic)
        self.grey_levels = bool(((images != 0) & (images != 1)).any())
        gray = torch.from_numpy(images)
        test = self._official_test_split()
        if test is not None:  # MNIST's own 10k test images, all 60k training images to train on
            self.test_source = "the 10,000 test images of the data set"
            gray_test, gray_train = test, gray
        else:
            perm = np.random.default_rng(self.seed).permutation(n)
            n_test = max(1, min(n // 10, 10000))
            self.test_source = f"{n_test} images held out at random (seed {self.seed})"
            gray_test, gray_train = gray[perm[:n_test]], gray[perm[n_test:]]
        # the test set is binarized once (a fixed set of binary images: an exact NLL); training images
        # are binarized once too, or drawn afresh at every step (dynamic binarization)
        self.x_test = (gray_test > 0.5).float().to(self.device)
        self.gray_train = gray_train.clamp(0, 1)
        self.x_train = (self.gray_train > 0.5).float()
        s = self.settings
        if model_code is not None:  # its size is the user's: it is checked on a probe batch, not estimated
            from genviz.models.user import load_autoregressive

            self.model = load_autoregressive(model_code, (1, *self.shape), self.x_train[:8],
                                             str(self.device)).to(self.device)
            self.opt = adam(self.model.parameters(), lr=self.settings["lr"])
            self.params = list(self.model.parameters())
            return
        size = {"nade": f"{s['hidden']} hidden units", "made": f"2 x {s['hidden']} hidden units"}.get(
            s["model"], f"{s['layers']} layers of {s['channels']} channels")
        check_model_memory(training_bytes(s, *self.shape), f"a training step of {s['model']} with {size} and "
                           f"batch {s['batch']} on {self.shape[0]}x{self.shape[1]} images")
        self.model = build_model(self.settings, *self.shape, self.seed).to(self.device)
        self.opt = adam(self.model.parameters(), lr=self.settings["lr"])
        self.params = list(self.model.parameters())

    @property
    def D(self) -> int:
        return 2 if self.toy is not None else self.shape[0] * self.shape[1]

    # -- 2-D points on a grid of bins ------------------------------------------------------------------
    TOY_TRAIN, TOY_TEST = 20000, 5000

    def _build_toy(self) -> None:
        """p(i, j) = p(i) p(j | i) over a B x B grid of bins covering the data's extent: the model's whole
        density is one exact image, to put beside the flow and GAN labs on the same data."""
        self.toy = make_toy(self.settings["points"])
        rng = np.random.default_rng(self.seed)
        B = self.settings["bins"]
        x0, x1, y0, y1 = self.toy.extent
        self.cell_area = (x1 - x0) / B * (y1 - y0) / B

        def binned(points: np.ndarray) -> tuple[torch.Tensor, float]:
            i = np.floor((points[:, 0] - x0) / (x1 - x0) * B)
            j = np.floor((points[:, 1] - y0) / (y1 - y0) * B)
            outside = float(np.mean((i < 0) | (i >= B) | (j < 0) | (j >= B)))
            ij = np.stack([np.clip(i, 0, B - 1), np.clip(j, 0, B - 1)], 1).astype(np.int64)
            return torch.from_numpy(ij), outside  # points past the extent count in its edge bins

        self.ij_train, self.outside = binned(self.toy.sample(self.TOY_TRAIN, rng))
        self.ij_test, _ = binned(self.toy.sample(self.TOY_TEST, rng))
        self.ij_test = self.ij_test.to(self.device)
        counts = np.bincount((self.ij_train[:, 0] * B + self.ij_train[:, 1]).numpy(), minlength=B * B)
        self.histogram = (counts / counts.sum()).reshape(B, B).astype(np.float32)
        self.shape = (B, B)
        self.model = BinnedAR2D(B, min(self.settings["hidden"], 512)).to(self.device)
        self.opt = adam(self.model.parameters(), lr=self.settings["lr"])
        self.params = list(self.model.parameters())

    def _toy_nll(self) -> torch.Tensor:
        return -self.model.log_prob(self.ij_test).double()

    def _toy_static(self) -> dict:
        return {"toy": True, "dataset": self.toy.name, "model": "binned", "image_shape": self.shape, "D": 2,
                "bins": self.shape[0], "extent": tuple(float(v) for v in self.toy.extent),
                "histogram": self.histogram, "cell_area": self.cell_area, "outside": self.outside,
                "n_test": len(self.ij_test), "test_split": f"{len(self.ij_test)} fresh points from the data's sampler"}

    def _toy_snapshot(self) -> dict:
        nll = self._toy_nll()
        return {"test_nll": float(nll.mean()), "test_nll_se": mean_se(nll),
                "bits_per_dim": float(nll.mean()) / (2 * LOG2),
                # as a density (piecewise constant over the bins): comparable with the flow lab's test NLL
                "density_nll": float(nll.mean()) + math.log(self.cell_area),
                "probabilities": to_numpy(self.model.probabilities()),
                "conditional": to_numpy(self.model.conditional_table())}

    def _official_test_split(self) -> torch.Tensor | None:
        return official_test_split(self.dataset)

    def _batch(self, n: int) -> torch.Tensor:
        if self.toy is not None:
            return self.ij_train[torch.randint(0, len(self.ij_train), (n,), generator=self.gen)].to(self.device)
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
    def test_nlls(self, x: torch.Tensor, chunk: int = 250) -> dict[str, torch.Tensor]:
        """Per-image test NLL ("nll"); for MADE with several orderings, the ensemble's, and ("one") the
        mean over the K orderings of each one alone."""
        hidden = self.settings["hidden"] if self.settings["model"] == "nade" and self.model_code is None else 256
        chunk = max(1, min(chunk, 8_000_000 // (self.D * max(256, hidden))))  # NADE's [batch, D, hidden] stays small
        ensemble = isinstance(self.model, MADE) and self.model.n_masks > 1
        nll, one = [], []
        for c in x.split(chunk):
            if ensemble:
                each = self.model.log_prob_each(c)
                nll.append(-MADE.ensemble(each))
                one.append(-each.mean(0))
            else:
                nll.append(-self.model.log_prob(c))
        out = {"nll": torch.cat(nll).double()}
        if one:
            out["one"] = torch.cat(one).double()
        return out

    @contextmanager
    def first_ordering(self):
        """Views show MADE under its first ordering (the one static_info's order and masks describe),
        whichever one training used last."""
        if not isinstance(self.model, MADE):
            yield
            return
        keep = self.model.current
        self.model.use_mask(0)
        try:
            yield
        finally:
            self.model.use_mask(keep)

    def chosen(self) -> torch.Tensor:
        return self.x_test[self.settings["image"] % len(self.x_test)]

    # -- views ---------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        if self.toy is not None:
            return self._toy_static()
        with self.first_ordering():
            order = self.model.order.cpu().numpy().copy()
        info = {"dataset": self.dataset.name, "image_shape": self.shape,
                "model": self.settings["model"] if self.model_code is None else "yours",
                "order": order, "n_test": len(self.x_test), "D": self.D, "test_split": self.test_source,
                "grey_levels": self.grey_levels, "binarize": self.settings["binarize"],
                "test_strip": to_compact(self.x_test[:24])}
        if self.dataset.name == "mnist" and self.shape == (28, 28):
            info["published"] = dict(PUBLISHED_MNIST)
        info.update(self.user_model_info())
        if isinstance(self.model, MADE):  # each ordering's masks (input -> hidden -> ... -> output)
            info["n_masks"] = self.model.n_masks
            info["made_masks"] = [[m.astype(np.uint8) for m in self.model.masks_of(k)]
                                  for k in range(min(self.model.n_masks, 4))]
        return info

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        if self.toy is not None:
            return self._toy_snapshot()
        with self.first_ordering():
            return self._image_snapshot()

    def _image_snapshot(self) -> dict:
        nlls = self.test_nlls(self.x_test[:EVAL])
        nll = nlls["nll"]
        x = self.chosen().view(1, -1)
        out = {"test_nll": float(nll.mean()), "test_nll_se": mean_se(nll), "bits_per_dim": float(nll.mean()) / (self.D * LOG2),
               "image": to_compact(x[0]), "image_index": self.settings["image"] % len(self.x_test),
               "pixel_nll": to_numpy(-self.model.pixel_log_prob(x)[0]),
               "conditionals": to_numpy(self.model.conditionals(x)[0])}
        if "one" in nlls:  # MADE: the same images under one ordering at a time
            out.update(test_nll_one_order=float(nlls["one"].mean()), test_nll_one_order_se=mean_se(nlls["one"]),
                       ensemble_gain=float((nlls["one"] - nll).mean()), ensemble_gain_se=mean_se(nlls["one"] - nll))
        if self.settings["noise_mix"] > 0:
            out["mixture"] = self.noise_mixture(nll)
        if self.D <= 256:
            out["samples"] = to_compact(self.model.sample(SAMPLES_IN_SNAPSHOT))
            out.update(self._completion_figures(out["samples"]))
            d = self.probe_pixel()
            with torch.enable_grad():
                field = receptive_field(self.model, self.x_test[:8], d)
            # pixels above the probe within its field's reach that its prediction never sees: PixelCNN's blind spot
            out.update(probe=d, probe_field=field.astype(np.float32), blind_spot=blind_spot(field, self.shape, d),
                       # how many inputs the probe's prediction depends on, and the farthest back (pixels in raster order)
                       field_size=int((field != 0).sum()),
                       field_reach=int(d - np.flatnonzero(field != 0).min()) if (field != 0).any() else 0,
                       field_unseen=int(d - (field[:d] != 0).sum()))  # raster order: pixels before it never seen
        return out

    def noise_mixture(self, nll: torch.Tensor) -> dict:
        """Theis, van den Oord & Bethge (2016), sec. 3.2: the mixture (1 − w) p + w u, u uniform over binary images,
        has log p_mix(x) = logaddexp(log(1 − w) + log p(x), log w − D log 2) exactly, so its NLL is at most
        log 1/(1 − w) nats above the model's (4.61 for w = 0.99: 0.10 bits per pixel of 64) while a share w of its
        samples is pure noise. The test NLLs of both on the same images; the mixture's samples."""
        w = float(self.settings["noise_mix"])
        log_p = -nll
        log_mix = torch.logaddexp(log_p + math.log1p(-w), torch.full_like(log_p, math.log(w) - self.D * LOG2))
        cost = (-log_mix) - nll  # per image, in [0, log 1/(1 − w)]
        out = {"w": w, "nll": float(-log_mix.mean()), "nll_se": mean_se(-log_mix), "cost": float(cost.mean()),
               "cost_se": mean_se(cost), "bound": -math.log1p(-w), "cost_bits_per_dim": float(cost.mean()) / (self.D * LOG2)}
        if self.D <= 256:  # samples with every snapshot only for small images, as the model's own
            g = torch.Generator().manual_seed(1_000_003 * self.seed + self.step_count)
            n = SAMPLES_IN_SNAPSHOT
            noise = torch.rand(n, generator=g) < w
            samples = self.model.sample(n).float().cpu()
            samples[noise] = torch.bernoulli(torch.full((int(noise.sum()), self.D), 0.5), generator=g)
            out.update(samples=to_compact(samples), noise_samples=int(noise.sum()), n_samples=n)
        return out

    def sampling_generator(self, seed) -> torch.Generator:
        """A generator on the model's device (a CUDA model draws its Bernoulli samples there)."""
        return torch.Generator(device=self.device).manual_seed(int(seed))

    COMPLETED_IMAGES, COMPLETIONS = 8, 8

    def _completion_figures(self, samples: np.ndarray) -> dict:
        """The bottom half of 8 test images (the chosen one first) sampled 8 times given the top half:
        how many hidden pixels the completions get right, against unconditional samples' bottom halves
        compared with the same images (what the top half adds), with the SE over the images."""
        k = self.COMPLETIONS
        idx = [self.settings["image"] % len(self.x_test)]
        idx += [i for i in range(len(self.x_test)) if i != idx[0]][: self.COMPLETED_IMAGES - 1]
        images = self.x_test[idx]
        top = (self.shape[0] // 2) * self.shape[1]
        given = torch.zeros(self.D, dtype=torch.bool)
        given[:top] = True
        fixed = images.repeat_interleave(k, 0)
        comp = self.model.sample(len(fixed), generator=self.sampling_generator(self.step_count), fixed=fixed,
                                 mask=given)
        truth = images[:, top:].cpu().numpy()
        hit_c = (comp[:, top:].cpu().numpy().reshape(len(idx), k, -1) == truth[:, None]).mean((1, 2))
        hit_s = (samples[None, :, top:].astype(np.float32) == truth[:, None]).mean((1, 2))
        gain = hit_c - hit_s
        return {"completions": to_compact(comp[:k]), "completion_match": float(hit_c.mean()),
                "sample_match": float(hit_s.mean()), "completion_gain": float(gain.mean()),
                "completion_gain_se": float(gain.std(ddof=1) / math.sqrt(len(gain))) if len(gain) > 1 else None}

    def probe_pixel(self) -> int:
        """The pixel whose receptive field each snapshot shows: two thirds down, a quarter across (room on its
        right for PixelCNN's blind spot)."""
        h, w = self.shape
        return (2 * h // 3) * w + w // 4

    QUERIES = {"sample": {"n": 2}, "complete": {"n": 2}, "receptive": {"d": 5}}

    def query(self, name: str, **kwargs):
        if self.toy is not None and name in ("sample", "complete", "receptive"):
            raise ValueError(f"'{name}' is for images; 2-D points are drawn as their exact density")
        with self.first_ordering():
            return self._query(name, **kwargs)

    def _query(self, name: str, **kwargs):
        if name == "sample":  # pixel by pixel, every step's p(x = 1 | x before) for the animation
            n = max(1, min(64, int(kwargs.get("n", 16))))
            steps: list = []
            with torch.no_grad():
                x = self.model.sample(n, generator=self.sampling_generator(kwargs.get("seed", 0)),
                                      steps=steps)
            return {"samples": to_compact(x), "order": np.array([d for d, _ in steps], np.int64),
                    "probs": half(np.stack([p for _, p in steps])) if steps else np.zeros((0, n), np.float16)}
        if name == "complete":  # the chosen test image with its bottom half (or the painted pixels) resampled
            n = max(1, min(32, int(kwargs.get("n", 8))))
            given = torch.zeros(self.D, dtype=torch.bool)
            painted = kwargs.get("hidden")
            if painted:
                idx = np.asarray(painted, dtype=np.int64).ravel()
                if idx.min() < 0 or idx.max() >= self.D:
                    raise ValueError(f"painted pixels must be 0..{self.D - 1}")
                given[:] = True
                given[torch.from_numpy(idx)] = False
            else:
                given[: (self.shape[0] // 2) * self.shape[1]] = True
            with torch.no_grad():
                x = self.model.sample(n, generator=self.sampling_generator(kwargs.get("seed", 0)),
                                      fixed=self.chosen(), mask=given)
            return {"completions": to_compact(x), "given": given.numpy(), "image": to_compact(self.chosen()),
                    "painted": bool(painted)}
        if name == "receptive":  # which inputs output pixel d depends on: gradients over 8 test images
            d = int(kwargs["d"]) % self.D
            with torch.enable_grad():
                field = receptive_field(self.model, self.x_test[:8], d)
            return {"d": d, "field": field.astype(np.float32), "blind_spot": blind_spot(field, self.shape, d)}
        return super().query(name, **kwargs)

    @torch.no_grad()
    def family_view(self):
        """The binned model of 2-D points as a column of "one data set, every family": a density constant on each
        bin, log p(x) = log P(bin of x) − log(bin area) (points past the extent count in its edge bins, as the lab's
        own figure counts them); samples drawn bin by bin from the exact table, uniform within a bin. None for
        images."""
        if self.toy is None:
            return None
        from genviz.core.families import FamilyView

        model, device, area = self.model, self.device, self.cell_area
        B = self.shape[0]
        x0, x1, y0, y1 = (float(v) for v in self.toy.extent)

        def log_prob(x: torch.Tensor) -> torch.Tensor:
            x = x.double().cpu()
            i = torch.floor((x[:, 0] - x0) / (x1 - x0) * B).clamp(0, B - 1)
            j = torch.floor((x[:, 1] - y0) / (y1 - y0) * B).clamp(0, B - 1)
            with torch.no_grad():
                return model.log_prob(torch.stack([i, j], 1).long().to(device)).double().cpu() - math.log(area)

        def draw(n: int, g: torch.Generator) -> torch.Tensor:
            with torch.no_grad():
                p = model.probabilities().double().cpu().reshape(-1)
            k = torch.multinomial(p, n, replacement=True, generator=g)
            u = torch.rand(n, 2, generator=g, dtype=torch.float64)
            i, j = (k // B).double(), (k % B).double()
            return torch.stack([x0 + (i + u[:, 0]) * (x1 - x0) / B, y0 + (j + u[:, 1]) * (y1 - y0) / B], 1)

        return FamilyView("autoregressive", draw, "exact", log_prob,
                          note=f"exact: p(i) p(j | i) over {B}×{B} bins, constant within a bin")

    def final_metrics(self) -> dict:
        if self.toy is not None:
            nll = self._toy_nll()
            return {"lab": "autoregressive", "model": "binned", "steps": self.step_count, "points": self.toy.name,
                    "bins": self.shape[0], "test_points": len(nll), "test_nll_nats": float(nll.mean()),
                    "test_nll_se": mean_se(nll), "bits_per_dim": float(nll.mean()) / (2 * LOG2),
                    "density_nll_nats": float(nll.mean()) + math.log(self.cell_area),
                    "outside_extent": self.outside}
        nlls = self.test_nlls(self.x_test, chunk=500)
        nll = nlls["nll"]
        out = {"lab": "autoregressive",
               "model": self.settings["model"] if self.model_code is None else f"yours ({self.model_code.shown})",
               "steps": self.step_count,
               "dataset": self.dataset.name, "test_images": len(self.x_test), "test_split": self.test_source,
               "test_nll_nats": float(nll.mean()), "test_nll_se": mean_se(nll),
               "bits_per_dim": float(nll.mean()) / (self.D * LOG2)}
        if "one" in nlls:
            out.update(test_nll_one_order_nats=float(nlls["one"].mean()), test_nll_one_order_se=mean_se(nlls["one"]))
        return out

    def model_state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict()}
