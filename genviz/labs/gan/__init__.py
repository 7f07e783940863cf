"""The GAN mode-coverage lab: watch mode collapse happen on 2-D mixtures, and which fixes help."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting
from genviz.models.choices import GAN_LOSSES

DATASETS = ("ring8", "grid25", "moons", "spiral", "checkerboard", "gaussian")
ACTS = ("relu", "leakyrelu", "tanh", "elu")

LAB = LabInfo(
    family="gan", family_data="data",  # genviz compare-families: this family on a 2-D data set
    name="gan",
    cards="genviz.labs.gan.cards:CARDS", exact_checks="genviz.labs.gan.checks:gan_checks",
    title="GAN mode coverage",
    summary="A GAN on a ring or grid of Gaussians: see modes drop, D's landscape and G's gradient field.",
    bench="genviz.labs.gan.bench:run",
    user_model="gan",  # a user's GAN (--model-code): genviz.models.protocols.GANModel
    script="genviz.labs.gan.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.gan.experiment:GanExperiment",
    panel="genviz.labs.gan.panel:GanPanel",
    order=40,
    data_kind="points",
    settings=(
        Setting("data", "ring8", "str", "2-D data: a named set, or a .csv/.npy file of x,y rows "
                "(the Draw button writes one)", suggestions=DATASETS),
        Setting("loss", "nonsat", "choice", "GAN objective: minimax = original saturating loss, nonsat = "
                "non-saturating, lsgan = least squares, wgan = weight clipping, wgan-gp, hinge",
                choices=GAN_LOSSES),
        Setting("noise_dim", 2, "int", "noise dimension", 1, 256),
        Setting("noise", "gaussian", "choice", "noise distribution", choices=("gaussian", "uniform")),
        Setting("g_hidden", 128, "int", "generator units per layer", 4, 1024),
        Setting("g_layers", 2, "int", "generator hidden layers", 1, 6),
        Setting("d_hidden", 128, "int", "discriminator units per layer", 4, 1024),
        Setting("d_layers", 2, "int", "discriminator hidden layers", 1, 6),
        Setting("activation", "relu", "choice", "hidden activation", choices=ACTS),
        Setting("pack", 1, "int", "PacGAN: samples per discriminator input", 1, 8),
        Setting("lr_g", 1e-3, "float", "generator learning rate (Adam)", 1e-6, 1.0, live=True, log_scale=True),
        Setting("lr_d", 1e-3, "float", "discriminator learning rate (Adam)", 1e-6, 1.0, live=True, log_scale=True),
        Setting("lr_halflife", 0, "int", "learning-rate decay: halves every this many steps (0 = constant), "
                "down to 5 % of the start; sharpens samples late in training", 0, 1000000, live=True),
        Setting("beta1", 0.5, "float", "Adam beta1", 0.0, 0.999, live=True),
        Setting("beta2", 0.999, "float", "Adam beta2", 0.0, 0.9999, live=True),
        Setting("d_steps", 1, "int", "discriminator steps per generator step", 1, 20, live=True),
        Setting("unroll", 0, "int", "unrolled discriminator steps in G's loss (Metz et al.)", 0, 10, live=True),
        Setting("gp_weight", 10.0, "float", "WGAN-GP gradient-penalty weight", 0.0, 100.0, live=True, applies=(("loss", ('wgan-gp',)),)),
        Setting("clip", 0.01, "float", "WGAN weight clipping", 0.0001, 1.0, live=True, log_scale=True, applies=(("loss", ('wgan',)),)),
        Setting("r1", 0.0, "float", "R1 penalty gamma on real data (0 = off)", 0.0, 100.0, live=True),
        Setting("batch", 256, "int", "minibatch size", 8, 4096, live=True),
        Setting("optimal_d", False, "bool", "compute the optimal discriminator D* = p_data / (p_data + p_g) and "
                "the JS divergence (p_g by a kernel density estimate of G's samples; data of known density)",
                live=True),
    ),
)

# Named settings for the benchmark and the lecture presets (docs/references.md protocols nearby)
PRESETS = {
    "GAN (minimax)": {"loss": "minimax"},
    "GAN (non-saturating)": {"loss": "nonsat"},
    "Unrolled GAN (5 steps)": {"loss": "nonsat", "unroll": 5},
    "PacGAN4": {"loss": "nonsat", "pack": 4},
    "WGAN-GP": {"loss": "wgan-gp", "d_steps": 5, "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.5, "beta2": 0.9},
    # measured here: R1 keeps D smooth around the data, the decaying learning rate sharpens the samples
    "GAN + R1 + lr decay": {"loss": "nonsat", "r1": 1.0, "lr_halflife": 4000, "batch": 512},
}
