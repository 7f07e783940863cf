"""The VAE family's experiment: data, a VAE, its ELBO training step, metrics and model files (pure core,
no Qt). The manifold, posterior and arithmetic labs subclass it with their own views."""
from __future__ import annotations

import time

import numpy as np
import torch

from genviz.core.experiment import Experiment, adam, guarded_update
from genviz.data import load_dataset
from genviz.models.vae import VAE, active_units

EVAL_POINTS = 2000  # encoded each heavy snapshot for the latent scatter
ACTIVE_UNIT_POINTS = 500  # as in Burda et al.'s reference code (docs/references.md)
DECODE_MAX = 256  # latent points one "decode" query decodes


class VAEExperiment(Experiment):
    """A lab of the family sets ``LAB`` (its settings come from ``genviz.vae.settings``) and
    implements ``snapshot``; ``FIXED_SETTINGS`` fixes family settings the lab does not offer."""

    STATE_ATTRS = ("last_kl",)
    NETWORK_SETTINGS = ("hidden", "layers", "activation")  # what a user's own VAE (--model-code) decides itself

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None,
                 model_code=None, model=None):
        super().__init__(settings, seed, device, data)
        torch.manual_seed(self.seed)
        self.rng = torch.Generator().manual_seed(self.seed)
        self.dataset = load_dataset(data, seed=self.seed)
        images = self.dataset.images
        n = len(images)
        perm = np.random.default_rng(self.seed).permutation(n)
        n_test = max(1, min(n // 10, 5000))  # a held-out split for the test -ELBO curve
        self.test_idx, self.train_idx = perm[:n_test], perm[n_test:]
        flat = torch.from_numpy(images.reshape(n, -1))
        self.x_train = flat[self.train_idx].to(self.device)
        self.x_test = flat[self.test_idx].to(self.device)
        self.eval_idx = self.train_idx[: min(EVAL_POINTS, len(self.train_idx))]
        self.x_eval = flat[self.eval_idx].to(self.device)
        s = self.settings
        self.model_code = model_code  # a user's own VAE (--model-code), or None: the family's MLP VAE
        self.watched = model is not None  # a model in the user's own training loop (genviz.watch), as it is
        if model_code is not None:
            self.model = self._user_model(model_code, flat).to(self.device)
        elif model is not None:
            from genviz.models.user import check_vae

            self.model = check_vae(model, "your model", (1, *self.dataset.shape), s["likelihood"], s["sigma"], flat[:4],
                                   backward=False)
        else:
            self.model = VAE(flat.shape[1], s["latent"], (s["hidden"],) * s["layers"], s["activation"],
                             s["likelihood"], s["sigma"]).to(self.device)
        self.optimizer = adam(self.model.parameters(), lr=s["lr"])
        self.params = list(self.model.parameters())
        self.started = time.perf_counter()
        self.last_kl = float("nan")

    def _user_model(self, code, flat: torch.Tensor):
        """The user's VAE, checked on a probe batch of this lab's data (one line says what is wrong)."""
        from genviz.core.model_code import ModelCodeError
        from genviz.models.user import load_vae

        s = self.settings
        model = load_vae(code, (1, *self.dataset.shape), s["likelihood"], s["sigma"], s["latent"], flat[:4],
                         device=str(self.device))
        fixed = self.FIXED_SETTINGS.get("latent")
        if fixed is not None and model.latent != fixed:
            raise ModelCodeError(f"model code {code.spec}: the {self.LAB.name} lab needs latent_dim = {fixed}, "
                                 f"the model has {model.latent}")
        return model

    # -- training ---------------------------------------------------------------------------
    def beta_now(self) -> float:
        warm = self.settings["warmup"]
        ramp = 1.0 if warm <= 0 else min(1.0, (self.step_count + 1) / warm)
        return float(self.settings["beta"]) * ramp

    def batch(self) -> torch.Tensor:
        idx = torch.randint(0, len(self.x_train), (self.settings["batch"],), generator=self.rng)
        x = self.x_train[idx.to(self.x_train.device)]
        if self.settings["binarize"] == "dynamic" and self.settings["likelihood"] == "bernoulli":
            x = torch.bernoulli(x)
        return x

    def train_step(self) -> dict[str, float]:
        self.model.train()
        beta = self.beta_now()
        loss, terms = self.model.loss(self.batch(), beta)
        guarded_update(loss, self.optimizer, self.params)
        recon = float(terms["recon"].detach().mean())
        kl = float(terms["kl"].detach().mean())
        self.last_kl = kl
        return {"loss": float(loss.detach()), "neg_elbo": kl - recon, "recon_nll": -recon, "kl": kl, "beta": beta}

    def on_setting(self, name: str, value) -> None:
        if name == "lr":
            for group in self.optimizer.param_groups:
                group["lr"] = value

    # -- views ------------------------------------------------------------------------------
    def static_info(self) -> dict:
        h, w = self.dataset.shape
        return {
            "dataset": self.dataset.name, "source": self.dataset.source, "image_shape": (h, w),
            "n_train": int(len(self.train_idx)), "n_test": int(len(self.test_idx)),
            "eval_images": (self.dataset.images[self.eval_idx] * 255).round().astype(np.uint8),
            "eval_labels": (self.dataset.labels[self.eval_idx].copy() if self.dataset.labels is not None
                            else np.zeros(len(self.eval_idx), np.int64)),
            "class_names": self.dataset.class_names() or ["data"],
            "latent": self.model.latent, "activation": self.model.activation,
            "likelihood": self.model.likelihood,
            **self.user_model_info(self.model.describe() if self.model_code is not None or self.watched else ""),
        }

    @torch.no_grad()
    def final_metrics(self, iwae: int = 0) -> dict:
        model = self.model.eval()
        torch.manual_seed(self.seed + 1)
        train = model.elbo_terms(self.x_eval)
        test = model.elbo_terms(self.x_test)
        au, _ = active_units(train["mu"][:ACTIVE_UNIT_POINTS])
        out = {
            "lab": self.LAB.name, "dataset": self.dataset.name, "steps": self.step_count,
            "train_neg_elbo": float(-train["elbo"].mean()), "test_neg_elbo": float(-test["elbo"].mean()),
            "test_recon_nll": float(-test["recon"].mean()), "test_kl": float(test["kl"].mean()),
            "active_units": au, "latent": model.latent, "device": str(self.device),
        }
        if iwae:
            out[f"test_nll_iwae{iwae}"] = float(-model.iwae_bound(self.x_test[:500], k=iwae).mean())
        return out

    def query(self, name: str, **kwargs):
        if name == "decode":  # latent points decoded for a model the window holds no copy of (a user's own)
            z = torch.as_tensor(kwargs["z"], dtype=torch.float32)
            if z.numel() == 0 or z.numel() % self.model.latent:
                raise ValueError(f"decode: z holds {z.numel()} values; the latent has {self.model.latent} dimensions")
            z = z.reshape(-1, self.model.latent)[:DECODE_MAX]
            with torch.no_grad():
                images = self.model.eval().decode_mean(z.to(self.device)).cpu().numpy()
            return {"tag": str(kwargs.get("tag", "")), "images": images}
        return super().query(name, **kwargs)

    # -- persistence --------------------------------------------------------------------------
    def model_state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}


def elbo_numbers(terms: dict) -> dict:
    """The test images' −ELBO and its two parts (``VAE.elbo_terms`` of one pass), summed in float64 so the parts
    add up to the total: what the curves card substitutes into −ELBO = reconstruction + KL. The reconstruction is
    a one-sample Monte Carlo estimate per image; its standard error over the images covers that noise (and the
    choice of images). The KL is closed form per image: its mean over these images is exact."""
    recon = -terms["recon"].detach().double().cpu()
    kl = terms["kl"].detach().double().cpu()
    neg = recon + kl
    n = max(1, len(neg))

    def se(v: torch.Tensor) -> float:
        return float(v.std() / n ** 0.5) if n > 1 else float("nan")
    return {"test_neg_elbo": float(neg.mean()), "test_neg_elbo_se": se(neg), "test_recon": float(recon.mean()),
            "test_recon_se": se(recon), "test_kl": float(kl.mean()), "test_images": int(n)}
