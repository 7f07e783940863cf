"""The Gibbs-chain lab: a restricted Boltzmann machine learns by Markov chains and samples by them."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

LAB = LabInfo(
    name="gibbs",
    cards="genviz.labs.gibbs.cards:CARDS", exact_checks="genviz.labs.gibbs.checks:gibbs_checks",
    title="Gibbs chains (RBM)",
    summary="A restricted Boltzmann machine learns digits by contrastive divergence; watch Gibbs chains turn noise into digits.",
    bench="genviz.labs.gibbs.bench:run",
    script="genviz.labs.gibbs.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.gibbs.experiment:GibbsExperiment",
    panel="genviz.labs.gibbs.panel:GibbsPanel",
    order=50,
    train_options=(Setting("ais", False, "bool", "also estimate the test log-likelihood by AIS"),),
    quick=(("hidden", 32),),  # small networks for the contract checks
    settings=(
        Setting("hidden", 100, "int", "hidden units", 2, 4000),
        Setting("method", "pcd", "choice", "cd = contrastive divergence from the data; pcd = persistent chains "
                "(Tieleman 2008)", choices=("cd", "pcd")),
        Setting("k", 1, "int", "Gibbs steps per gradient estimate (CD-k / PCD-k)", 1, 1000, live=True),
        Setting("lr", 0.05, "float", "learning rate", 1e-5, 1.0, live=True, log_scale=True),
        Setting("momentum", 0.5, "float", "momentum", 0.0, 0.99, live=True),
        Setting("weight_decay", 1e-4, "float", "L2 weight decay on W", 0.0, 0.1, live=True),
        Setting("batch", 64, "int", "minibatch size", 1, 4096, live=True),
        Setting("mode", "train", "choice", "train = a CD/PCD update, then the chains advance one Gibbs step; "
                "sample = the chains only (one Gibbs step per step)", choices=("train", "sample"), live=True),
        Setting("chains", 100, "int", "Gibbs chains shown", 1, 400),
        Setting("start", "noise", "choice", "where chains start (Restart chains)", choices=("noise", "data", "image"),
                live=True),
        Setting("image", 0, "int", "test image for 'start = image' and for clamping", 0, 100000, live=True),
        Setting("clamp", "none", "choice", "visible pixels fixed to the chosen image while the rest is sampled",
                choices=("none", "top half", "bottom half", "left half", "right half", "painted"), live=True),
        Setting("ais_runs", 100, "int", "AIS runs (Estimate log-likelihood)", 2, 1000, live=True),
        Setting("ais_scale", 1.0, "float", "AIS temperatures relative to Salakhutdinov & Murray's 14,500",
                0.01, 10.0, live=True),
    ),
)
