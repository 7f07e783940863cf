"""The diffusion lab: noise in, data out, the score made visible, on 2-D data whose exact score is known."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

DATASETS = ("ring8", "grid25", "moons", "checkerboard", "spiral", "gaussian")

LAB = LabInfo(
    family="diffusion", family_data="data",  # genviz compare-families: this family on a 2-D data set
    name="diffusion",
    cards="genviz.labs.diffusion.cards:CARDS", exact_checks="genviz.labs.diffusion.checks:diffusion_checks",
    title="Diffusion and score models",
    summary="DDPM, score matching and flow matching on 2-D data: samplers side by side, the learned score "
            "against the exact one, likelihoods through the probability-flow ODE.",
    user_model="diffusion",  # a user's network (--model-code): genviz.models.protocols.DenoiserModel
    script="genviz.labs.diffusion.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.diffusion.experiment:DiffusionExperiment",
    panel="genviz.labs.diffusion.panel:DiffusionPanel",
    bench="genviz.labs.diffusion.bench:run",
    order=70,
    data_kind="points",
    settings=(
        Setting("data", "ring8", "str", "2-D data: a named set, or a .csv/.npy file of x,y rows", suggestions=DATASETS),
        Setting("process", "vp-linear", "choice", "vp-linear / vp-cosine = DDPM noise prediction with the linear "
                "(Ho et al. 2020) or cosine (Nichol & Dhariwal 2021) schedule, a variance-preserving SDE; ve = "
                "denoising score matching, variance-exploding SDE (Song et al. 2021); flow = flow matching / "
                "rectified flow (Lipman et al. 2023; Liu et al. 2023)",
                choices=("vp-linear", "vp-cosine", "ve", "flow")),
        Setting("sampler", "ode", "choice", "ddpm = ancestral (VP), ddim = DDIM with eta (VP for eta > 0), sde = reverse "
                "SDE by Euler-Maruyama, ode = probability-flow ODE by Heun, langevin = annealed Langevin",
                choices=("ddpm", "ddim", "sde", "ode", "langevin"), live=True),
        Setting("sample_steps", 100, "int", "sampling steps (Heun: two network evaluations each)", 1, 1000, live=True),
        Setting("eta", 0.0, "float", "DDIM's eta: 0 = deterministic, 1 = as noisy as ancestral sampling", 0.0, 1.0,
                live=True, applies=(("sampler", ('ddim',)),)),
        Setting("guidance", 0.0, "float", "classifier-free guidance gamma for data with labels (the modes of ring8, "
                "grid25): above 0 at Reset trains a conditional model (labels dropped 10 % of the time); then, live, "
                "0 = unconditional, 1 = conditional on a random mode, > 1 = guided", 0.0, 10.0, live=True),
        Setting("hidden", 64, "int", "units per hidden layer", 8, 1024),
        Setting("layers", 3, "int", "hidden layers", 1, 8),
        Setting("lr", 1e-3, "float", "Adam learning rate", 1e-5, 1.0, live=True, log_scale=True),
        Setting("batch", 512, "int", "minibatch size", 8, 8192, live=True),
    ),
)
