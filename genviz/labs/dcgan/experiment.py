"""The DCGAN lab's experiment (pure core): a small DCGAN trained on images, samples of fixed latent points, latent
interpolation rows, and the digit score of its samples (the Inception score with a pixel-space classifier) beside the
real test images' own score."""
from __future__ import annotations

import numpy as np
import torch

from genviz.core.experiment import Experiment, to_numpy
from genviz.core.settings import SettingError
from genviz.data import load_dataset
from genviz.labs.dcgan import LAB
from genviz.models.dcgan import Discriminator, Generator, PixelClassifier, digit_score, gan_step, slerp

GRID = 64  # fixed latent points drawn as the sample grid
PAIRS, STEPS = 6, 10  # interpolation rows and images per row
SCORED = 1000  # samples the digit score uses (the same latent points at every snapshot)


def split(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the held-out test images (10 %, at most 10,000) and of the training images."""
    n = len(images)
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, min(n // 10, 10000))
    return perm[:n_test], perm[n_test:]


def build_classifier(x: torch.Tensor, labels: np.ndarray | None) -> PixelClassifier | None:
    """The digit score's classifier, fitted on the training images (None without labels)."""
    if labels is None:
        return None
    with torch.random.fork_rng(devices=[]):  # its own initial weights, without touching the global stream
        torch.manual_seed(0)
        clf = PixelClassifier(x[0].numel(), int(labels.max()) + 1).to(x.device)
    clf.fit(x, torch.from_numpy(labels).long().to(x.device))
    for p in clf.parameters():
        p.requires_grad_(False)
    return clf


def latent_points(latent: int, seed: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed latent points the views show and the score uses: the grid's, the interpolation pairs', the
    scored ones; from their own generator, so drawing them never touches training's random stream."""
    g = torch.Generator().manual_seed(seed + 7)
    return (torch.randn(GRID, latent, generator=g).to(device), torch.randn(PAIRS, 2, latent, generator=g).to(device),
            torch.randn(SCORED, latent, generator=g).to(device))


class DCGANExperiment(Experiment):
    LAB = LAB

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        s = self.settings
        torch.manual_seed(self.seed)
        self.gen = torch.Generator(device=self.device).manual_seed(self.seed)
        self.dataset = load_dataset(data, seed=self.seed)
        h, w = self.shape = self.dataset.shape
        if h % 4 or w % 4:
            raise SettingError(f"{self.dataset.name}: a DCGAN doubles its image twice, so both sides must be "
                               f"divisible by 4 (these are {h}×{w})")
        test, train = split(self.dataset.images, self.seed)
        images = torch.from_numpy(self.dataset.images).to(self.device)
        self.x_train, self.x_test = images[train] * 2 - 1, images[test]  # G's range [−1, 1]; the test set [0, 1]
        self.G = Generator(s["latent"], s["channels"], (h, w)).to(self.device)
        self.D = Discriminator(s["channels"], (h, w)).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=s["lr"], betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=s["lr"], betas=(0.5, 0.999))
        labels = self.dataset.labels
        self.classifier = build_classifier(images[train], None if labels is None else labels[train])
        self.test_labels = None if labels is None else labels[test]
        self.z_grid, self.z_pairs, self.z_scored = latent_points(s["latent"], self.seed, self.device)
        self.real_score = self._score(self.x_test) if self.classifier is not None else None

    @torch.no_grad()
    def _score(self, images: torch.Tensor) -> dict:
        return digit_score(torch.softmax(self.classifier(images), 1))

    def train_step(self) -> dict[str, float]:
        s = self.settings
        idx = torch.randint(0, len(self.x_train), (s["batch"],), generator=self.gen, device=self.device)
        return gan_step(self.G, self.D, self.opt_g, self.opt_d, self.x_train[idx], self.gen)

    def on_setting(self, name: str, value) -> None:
        if name == "lr":
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] = value

    # -- views -----------------------------------------------------------------------------------------------
    def static_info(self) -> dict:
        out = {"dataset": self.dataset.name, "image_shape": self.shape, "latent": self.settings["latent"],
               "pairs": PAIRS, "steps": STEPS, "scored": SCORED, "has_classes": self.classifier is not None}
        if self.classifier is not None:
            acc = float((self.classifier(self.x_test).argmax(1).cpu().numpy() == self.test_labels).mean())
            out.update(real_score=self.real_score, classifier_accuracy=acc)
        return out

    def interpolation(self) -> torch.Tensor:
        """[PAIRS * STEPS, latent]: each row walks from its pair's first point to its second."""
        how = self.settings["interpolation"]
        t = torch.linspace(0, 1, STEPS, device=self.device)[:, None]
        rows = [slerp(a, b, STEPS) if how == "slerp" else (1 - t) * a + t * b for a, b in self.z_pairs]
        return torch.cat(rows)

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        out = {"samples": to_numpy(self.G.images(self.z_grid), np.float16)}
        if not heavy:
            return out
        z = self.interpolation()
        out["interpolation"] = to_numpy(self.G.images(z), np.float16)
        out["interpolation_norms"] = to_numpy(z.norm(dim=1).reshape(PAIRS, STEPS))
        if self.classifier is not None:
            fake = self.G.images(self.z_scored)
            score = self._score(fake)
            counts = np.bincount(self.classifier(fake).argmax(1).cpu().numpy(),
                                 minlength=self.classifier.linear.out_features)
            out.update(score=score, real_score=self.real_score, class_share=counts / counts.sum(),
                       digit_score=score["score"])
        return out

    def final_metrics(self) -> dict:
        out = {"lab": "dcgan", "steps": self.step_count, "dataset": self.dataset.name}
        if self.classifier is not None:
            with torch.no_grad():
                score = self._score(self.G.images(self.z_scored))
            out.update(digit_score=score["score"], log_digit_score=score["log_score"],
                       log_digit_score_se=score["log_score_se"], real_digit_score=self.real_score["score"])
        return out

    def model_state(self) -> dict:
        return {"G": self.G.state_dict(), "D": self.D.state_dict()}
