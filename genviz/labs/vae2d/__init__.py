"""The 2-D VAE lab: a variational autoencoder with a 2-D latent learns 2-D points; its density, which has no closed
form, is shown by the IWAE bound and checked against the exact integral over z by quadrature."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

LAB = LabInfo(
    family="vae", family_data="data",  # genviz compare-families: this family on a 2-D data set
    name="vae2d",
    cards="genviz.labs.vae2d.cards:CARDS", exact_checks="genviz.labs.vae2d.checks:vae2d_checks",
    title="VAE on 2-D points",
    summary="A VAE with a 2-D latent learns a 2-D data set: its samples, its density by the IWAE bound, where it "
            "puts the data in latent space, and how loose the ELBO is against the exact log p(x).",
    script="genviz.labs.vae2d.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.vae2d.experiment:PointVAEExperiment",
    panel="genviz.labs.vae2d.panel:PointVAEPanel",
    bench="genviz.labs.vae2d.bench:run",
    order=47,
    quick=(("hidden", 16),),
    data_kind="points",
    settings=(
        Setting("data", "ring8", "str", "2-D data: a named set, or a .csv/.npy file of x,y rows",
                suggestions=("ring8", "grid25", "moons", "spiral", "checkerboard", "gaussian")),
        Setting("k", 1, "int", "importance samples in the training objective: 1 = the ELBO, k > 1 = the IWAE bound "
                "(Burda et al. 2016)", 1, 256, live=True),
        Setting("warmup", 2000, "int", "KL warm-up: the KL terms' weight rises from 0 to 1 over this many steps (0 = "
                "none; without it the decoder learns to ignore z and the VAE fits one Gaussian)", 0, 1000000),
        Setting("hidden", 64, "int", "units in each of the encoder's and decoder's two hidden layers", 4, 512),
        Setting("lr", 2e-3, "float", "Adam learning rate", 1e-5, 1e-1, live=True, log_scale=True),
        Setting("batch", 256, "int", "points per step", 8, 8192, live=True),
    ),
)
