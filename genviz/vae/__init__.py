"""The VAE family shared by the manifold, posterior and arithmetic labs: its settings (here, cheap to
import: no torch), its experiment (``genviz.vae.experiment``) and the GUI's numpy decoder
(``genviz.vae.decode``). A lab of the family builds on this package, never on another lab."""
from __future__ import annotations

from genviz.core.settings import Setting

LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "tanh", "softplus", "elu")

SETTINGS = (
    Setting("latent", 2, "int", "latent dimensions (above 2 the views show a PCA projection)", 1, 32),
    Setting("hidden", 256, "int", "units per hidden layer", 8, 2048),
    Setting("layers", 1, "int", "hidden layers in encoder and decoder", 0, 4),
    Setting("activation", "relu", "choice", "hidden activation", choices=ACTIVATIONS),
    Setting("likelihood", "bernoulli", "choice", "p(x|z)", choices=LIKELIHOODS),
    Setting("sigma", 0.1, "float", "std of the Gaussian likelihood", 0.01, 1.0),
    Setting("binarize", "none", "choice", "dynamic binarization of the inputs (Bernoulli only)",
            choices=("none", "dynamic")),
    Setting("lr", 1e-3, "float", "Adam learning rate", 1e-6, 1.0, live=True, log_scale=True),
    Setting("beta", 1.0, "float", "weight of the KL term (beta-VAE; 1 = ELBO)", 0.0, 20.0, live=True),
    Setting("warmup", 0, "int", "KL warm-up: beta rises linearly over this many steps", 0, 100000, live=True),
    Setting("batch", 128, "int", "minibatch size", 1, 4096, live=True),
)


# ``genviz train LAB --iwae K``: the final figures also give the IWAE-k bound on the test NLL
TRAIN_OPTIONS = (Setting("iwae", 0, "int", "also report the IWAE-k test NLL bound (0: no)", 0, 100000),)


def settings(*names: str, exclude: tuple[str, ...] = ()) -> tuple[Setting, ...]:
    """The family's settings named (all when none are), in their order, less ``exclude``."""
    return tuple(s for s in SETTINGS if (not names or s.name in names) and s.name not in exclude)
