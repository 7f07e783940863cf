"""The latent-manifold lab: a VAE's 2-D latent plane, its decoded manifold and its posterior."""
from genviz.core.labs import LabInfo
from genviz import vae
from genviz.core.settings import Setting

LAB = LabInfo(
    name="manifold",
    cards="genviz.labs.manifold.cards:CARDS", exact_checks="genviz.vae.checks:vae_checks",
    title="Latent manifold (VAE)",
    summary="A VAE learns a 2-D latent space: watch the decoded manifold unfold and the classes separate.",
    bench="genviz.labs.manifold.bench:run",
    user_model="vae",  # a user's VAE (--model-code): genviz.models.protocols.VAEModel
    script="genviz.vae.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.manifold.experiment:ManifoldExperiment",
    panel="genviz.labs.manifold.panel:ManifoldPanel",
    order=10,
    train_options=vae.TRAIN_OPTIONS,
    quick=(("hidden", 32),),  # small networks for the contract checks
    shares_model=True,
    settings=(
        *vae.SETTINGS,
        Setting("grid", 20, "int", "decoded manifold grid size (n x n)", 4, 40, live=True),
        Setting("aggregate", False, "bool", "draw the aggregate posterior q(z) = mean of q(z|x) as a density under the "
                "encoder means, and split the KL term: mutual information + KL(q(z) ‖ p(z))", live=True),
    ),
)
