"""The variational-inference lab: which q, which KL, which bound. Four experiments: the direction of
the KL, the ELBO as a family of lower bounds under EM, CAVI for a Bayesian mixture beside Gibbs and
EM, and mean-field on a correlated Gaussian."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

EXPERIMENTS = ("kl", "em", "cavi", "meanfield")
TARGETS = ("two-modes", "three-modes", "banana")

LAB = LabInfo(
    name="inference",
    cards="genviz.labs.inference.cards:CARDS", exact_checks="genviz.labs.inference.checks:inference_checks",
    title="Variational inference",
    summary="Reverse vs forward KL, EM's family of lower bounds, CAVI on a mixture of Gaussians beside Gibbs "
            "and EM, and mean-field's too-small variances: every KL and bound computed exactly.",
    script="genviz.labs.inference.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.inference.experiment:InferenceExperiment",
    panel="genviz.labs.inference.panel:InferencePanel",
    bench="genviz.labs.inference.bench:run",
    order=60,
    data_kind="points",
    speed=10.0,  # an EM half step or a CAVI update per step: at full speed it is over before it is seen
    settings=(
        Setting("experiment", "kl", "choice", "kl = fit q by reverse and by forward KL; em = EM on a 1-D mixture, one "
                "half step per step; cavi = coordinate ascent VI on a Bayesian mixture, beside Gibbs and EM; "
                "meanfield = a factorized q for a correlated Gaussian", choices=EXPERIMENTS),
        Setting("target", "two-modes", "choice", "kl: the target p (drag its modes in the view)", choices=TARGETS, applies=(("experiment", ('kl',)),)),
        Setting("means", "", "str", "kl: the target's component means as x,y;x,y (empty: the target's own); the "
                "view's handles set it", live=True, in_form=False, applies=(("experiment", ('kl',)),)),
        Setting("components", 1, "int", "kl: Gaussians in each q (1 = one full-covariance Gaussian)", 1, 4, applies=(("experiment", ('kl',)),)),
        Setting("lr", 0.05, "float", "kl: Adam learning rate of both fits", 1e-4, 1.0, live=True, log_scale=True, applies=(("experiment", ('kl',)),)),
        Setting("em_q", "exact", "choice", "em: exact = the E step sets q to the posterior (the bound touches); "
                "restricted = q(c_i) may depend only on the sign of x_i (variational EM: a gap remains)",
                choices=("exact", "restricted"), live=True, applies=(("experiment", ('em',)),)),
        Setting("em_theta0", 0.2, "float", "em: the starting theta", -5.0, 5.0, applies=(("experiment", ('em',)),)),
        Setting("em_true", 1.5, "float", "em: the theta the data are drawn with (components at ±theta)", 0.0, 5.0, applies=(("experiment", ('em',)),)),
        Setting("data", "blobs", "str", "cavi: 2-D data: blobs (drawn from well-separated clusters) or a .csv/.npy "
                "of x,y rows", suggestions=("blobs",), applies=(("experiment", ('cavi',)),)),
        Setting("clusters", 4, "int", "cavi: clusters the blobs are drawn from", 1, 12, applies=(("experiment", ('cavi',)),)),
        Setting("points", 300, "int", "cavi: points in the blobs", 2, 100000, applies=(("experiment", ('cavi',)),)),
        Setting("k", 4, "int", "cavi: mixture components K of the model", 1, 50, applies=(("experiment", ('cavi',)),)),
        Setting("prior_var", 25.0, "float", "cavi: prior variance sigma^2 of the component means", 0.01, 1e4,
                log_scale=True, applies=(("experiment", ('cavi',)),)),
        Setting("correlation", 0.9, "float", "meanfield: the correlation of the 2-D Gaussian p", -0.99, 0.99, applies=(("experiment", ('meanfield',)),)),
    ),
)
