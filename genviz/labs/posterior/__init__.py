"""The posterior lab: the true p(z|x) of a 2-D-latent VAE against q(z|x), q*, q_IW and HMC."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting
from genviz import vae

_SHARED = vae.settings("hidden", "layers", "activation", "likelihood", "sigma", "binarize", "lr", "batch")

LAB = LabInfo(
    name="posterior",
    cards="genviz.labs.posterior.cards:CARDS", exact_checks="genviz.labs.posterior.checks:posterior_checks",
    title="Posterior vs q(z|x)",
    summary="The true posterior of a 2-D VAE by quadrature, against the encoder's q, the optimal q*, "
            "importance weighting and HMC: the inference gaps as shapes and numbers.",
    user_model="vae",  # a user's VAE (--model-code): genviz.models.protocols.VAEModel
    script="genviz.vae.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.posterior.experiment:PosteriorExperiment",
    panel="genviz.labs.posterior.panel:PosteriorPanel",
    order=20,
    train_options=vae.TRAIN_OPTIONS,
    quick=(("hidden", 32), ("grid", 60), ("hmc", False)),  # small networks for the contract checks
    settings=(
        Setting("objective", "elbo", "choice", "training objective: the ELBO, or the IWAE bound L_k",
                choices=("elbo", "iwae")),
        Setting("k", 10, "int", "importance samples of the IWAE objective", 1, 1000),
        *_SHARED,
        Setting("grid", 200, "int", "quadrature grid (n x n) over the region holding the posterior mass",
                50, 600, live=True),
        Setting("hmc", True, "bool", "stream Hamiltonian Monte Carlo samples of p(z|x)", live=True),
        Setting("full_cov", True, "bool", "also fit a full-covariance Gaussian per example", live=True),
        Setting("gap_table", False, "bool", "the inference gaps averaged over 16 test images, live (log p(x) by "
                "quadrature, q* fitted per image as training goes)", live=True),
    ),
)
