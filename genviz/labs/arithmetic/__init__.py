"""The latent-arithmetic lab: sliders per latent dimension, attribute vectors, analogies and walks."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting
from genviz import vae

# the VAE family's architecture and training settings, with a richer latent default
_SHARED = vae.settings(exclude=("latent",))

LAB = LabInfo(
    name="arithmetic",
    cards="genviz.labs.arithmetic.cards:CARDS", exact_checks="genviz.vae.checks:vae_checks",
    title="Latent arithmetic",
    summary="Sliders per latent dimension, attribute vectors, analogies a − b + c, and linear vs spherical walks.",
    bench="genviz.labs.arithmetic.bench:run",
    user_model="vae",  # a user's VAE (--model-code): genviz.models.protocols.VAEModel
    script="genviz.vae.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.arithmetic.experiment:ArithmeticExperiment",
    panel="genviz.labs.arithmetic.panel:ArithmeticPanel",
    order=60,
    train_options=vae.TRAIN_OPTIONS,
    quick=(("hidden", 32),),  # small networks for the contract checks
    model_from=("manifold",),
    shares_model=True,
    settings=(
        Setting("model", "", "str", "a saved VAE (.pt from File ▸ Save model) to explore; "
                "empty: train a new one here (Play)"),
        Setting("latent", 8, "int", "latent dimensions (one slider each up to 32, else the leading PCA directions)",
                1, 64),
        *_SHARED,
    ),
)
