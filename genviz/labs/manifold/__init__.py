"""The latent-manifold lab: a VAE's 2-D latent plane, its decoded manifold and its posterior."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

LAB = LabInfo(
    name="manifold",
    title="Latent manifold (VAE)",
    summary="A VAE learns a 2-D latent space: watch the decoded manifold unfold and the classes separate.",
    experiment="genviz.labs.manifold.experiment:ManifoldExperiment",
    panel="genviz.labs.manifold.panel:ManifoldPanel",
    order=10,
    shares_model=True,
    settings=(
        Setting("latent", 2, "int", "latent dimensions (above 2 the views show a PCA projection)", 1, 32),
        Setting("hidden", 256, "int", "units per hidden layer", 8, 2048),
        Setting("layers", 1, "int", "hidden layers in encoder and decoder", 0, 4),
        Setting("activation", "relu", "choice", "hidden activation", choices=("relu", "tanh", "softplus", "elu")),
        Setting("likelihood", "bernoulli", "choice", "p(x|z)", choices=("bernoulli", "gaussian")),
        Setting("sigma", 0.1, "float", "std of the Gaussian likelihood", 0.01, 1.0),
        Setting("binarize", "none", "choice", "dynamic binarization of the inputs (Bernoulli only)",
                choices=("none", "dynamic")),
        Setting("lr", 1e-3, "float", "Adam learning rate", 1e-6, 1.0, live=True, log_scale=True),
        Setting("beta", 1.0, "float", "weight of the KL term (beta-VAE; 1 = ELBO)", 0.0, 20.0, live=True),
        Setting("warmup", 0, "int", "KL warm-up: beta rises linearly over this many steps", 0, 100000, live=True),
        Setting("batch", 128, "int", "minibatch size", 1, 4096, live=True),
        Setting("grid", 20, "int", "decoded manifold grid size (n x n)", 4, 40, live=True),
    ),
)
