"""The Boltzmann-machine lab: a general Boltzmann machine (hidden units connected to each other and visible units
to each other) and a deep belief net grown by greedy layer-wise RBMs, on bars and stripes, small enough that
log Z, p(v) and every bound are exact by enumeration."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

EXPERIMENTS = ("bm", "dbn")

LAB = LabInfo(
    name="boltzmann",
    cards="genviz.labs.boltzmann.cards:CARDS", exact_checks="genviz.labs.boltzmann.checks:boltzmann_checks",
    title="Boltzmann machines (exact)",
    summary="A general Boltzmann machine learned by Gibbs sampling in both phases, and a deep belief net grown one "
            "RBM at a time, on bars and stripes: log Z, p(v) and the DBN's bound exact by enumeration.",
    script="genviz.labs.boltzmann.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.boltzmann.experiment:BoltzmannExperiment",
    panel="genviz.labs.boltzmann.panel:BoltzmannPanel",
    bench="genviz.labs.boltzmann.bench:run",
    order=55,
    data_kind="points",  # its data are bars and stripes of the chosen size: it reads no images
    settings=(
        Setting("experiment", "bm", "choice", "bm = a general Boltzmann machine (Ackley, Hinton & Sejnowski 1985) "
                "learned by the Boltzmann learning rule, Gibbs sampling in the positive and the negative phase; dbn = "
                "a deep belief net: an RBM on the data, then a second RBM on its hidden activities (Hinton, Osindero & "
                "Teh 2006)", choices=EXPERIMENTS),
        Setting("size", 3, "int", "the data: every size × size image of bars or stripes (2^(size+1) − 2 patterns, "
                "equally likely)", 2, 4),
        Setting("hidden", 6, "int", "bm: hidden units; dbn: units of the first hidden layer (exact sums run over "
                "2^hidden states, and a BM's over 2^(visible + hidden))", 1, 16),
        Setting("connect", "full", "choice", "bm: full = every pair of units connected (a general BM); restricted = "
                "only visible–hidden pairs (an RBM of the same units)", choices=("full", "restricted"),
                applies=(("experiment", ("bm",)),)),
        Setting("gradient", "gibbs", "choice", "bm: gibbs = the learning rule's sampled estimate (both phases by "
                "Gibbs sampling); exact = the exact gradient by enumerating every state",
                choices=("gibbs", "exact"), live=True, applies=(("experiment", ("bm",)),)),
        Setting("k", 1, "int", "Gibbs sweeps per gradient estimate (bm: per phase; dbn: PCD-k)", 1, 100, live=True),
        Setting("chains", 100, "int", "persistent chains of the negative phase (the fantasy particles)", 1, 2000),
        Setting("lr", 0.05, "float", "learning rate (bm; the dbn's first RBM)", 1e-4, 1.0, live=True,
                log_scale=True),
        Setting("momentum", 0.5, "float", "dbn: momentum of both RBMs' updates", 0.0, 0.99, live=True,
                applies=(("experiment", ("dbn",)),)),
        Setting("layer_steps", 4000, "int", "dbn: steps of the first RBM; then it is frozen and the second is "
                "trained on its hidden activities", 1, 1_000_000, applies=(("experiment", ("dbn",)),)),
        Setting("lr2", 0.01, "float", "dbn: learning rate of the second RBM", 1e-4, 1.0, live=True, log_scale=True,
                applies=(("experiment", ("dbn",)),)),
        Setting("k2", 5, "int", "dbn: PCD-k of the second RBM", 1, 100, live=True,
                applies=(("experiment", ("dbn",)),)),
        Setting("top_init", "transpose", "choice", "dbn: transpose = the second RBM starts as the first upside "
                "down (so the DBN starts exactly at the first RBM's likelihood); random = small random weights",
                choices=("transpose", "random"), applies=(("experiment", ("dbn",)),)),
    ),
)
