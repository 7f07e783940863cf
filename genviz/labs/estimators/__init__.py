"""The gradient-estimator lab: score function against reparameterization (and baselines, and the
Gumbel-softmax relaxation) measured against exact gradients, what each does to learning, and
wake-sleep with log p(x) exact by enumeration, and VAE against IWAE (k = 1, 5, 50)."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

EXPERIMENTS = ("variance", "discrete", "vae", "wake-sleep", "iwae", "vamp", "ardecoder")

LAB = LabInfo(
    name="estimators",
    cards="genviz.labs.estimators.cards:CARDS", exact_checks="genviz.labs.estimators.checks:estimator_checks",
    data_applies=(("experiment", ("vae", "wake-sleep", "iwae", "vamp", "ardecoder")),),  # the images only these read
    title="Gradient estimators",
    summary="Score function vs reparameterization against the exact gradient, baselines, Gumbel-softmax, "
            "a VAE trained with each, and wake-sleep with exact log p(x).",
    script="genviz.labs.estimators.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.estimators.experiment:EstimatorsExperiment",
    panel="genviz.labs.estimators.panel:EstimatorsPanel",
    bench="genviz.labs.estimators.bench:run",
    order=65,
    settings=(
        Setting("experiment", "variance", "choice", "variance = single-sample gradient estimates of E_q[f(z)] for a "
                "Gaussian q; discrete = a categorical q (score function vs Gumbel-softmax); vae = one VAE trained "
                "with each estimator; wake-sleep = Helmholtz machines by wake-sleep, reweighted wake-sleep and a "
                "score-function ELBO; iwae = one VAE trained on the IWAE bound with k = 1 (the ELBO), 5 and 50; vamp = one VAE "
                "with the standard normal prior and one with a VampPrior (a mixture of its own posteriors at learned "
                "pseudo-inputs); ardecoder = one VAE with a factorized decoder and a copy whose decoder is "
                "autoregressive (a MADE on x given z)", choices=EXPERIMENTS),
        Setting("f", "square", "choice", "variance: f(z) = z², a step 1[z > 0], or a small decoder's log-likelihood",
                choices=("square", "step", "decoder"), live=True, applies=(("experiment", ('variance',)),)),
        Setting("mu", 1.0, "float", "variance: the mean of q = N(mu, sigma²)", -3.0, 3.0, live=True, applies=(("experiment", ('variance',)),)),
        Setting("sigma", 1.0, "float", "variance: the standard deviation of q", 0.05, 3.0, live=True, applies=(("experiment", ('variance',)),)),
        Setting("categories", 4, "int", "discrete: categories of q (2: a Bernoulli)", 2, 12, applies=(("experiment", ('discrete',)),)),
        Setting("temperature", 0.5, "float", "discrete: the Gumbel-softmax temperature", 0.01, 10.0, live=True,
                log_scale=True, applies=(("experiment", ('discrete',)),)),
        Setting("latent", 2, "int", "vae, iwae: latent dimensions", 1, 50, applies=(("experiment", ('vae', 'iwae', 'vamp', 'ardecoder')),)),
        Setting("hidden", 64, "int", "vae, iwae: hidden units of encoder and decoder", 8, 512,
                applies=(("experiment", ('vae', 'iwae', 'vamp', 'ardecoder')),)),
        Setting("pseudo", 50, "int", "vamp: pseudo-inputs of the VampPrior (its mixture components)", 1, 500,
                applies=(("experiment", ('vamp',)),)),
        Setting("ar_hidden", 256, "int", "ardecoder: hidden units of the autoregressive decoder (a MADE)", 8, 2048,
                applies=(("experiment", ('ardecoder',)),)),
        Setting("latents", 10, "int", "wake-sleep: binary latent units (log p(x) sums over 2^latents states)", 1, 12, applies=(("experiment", ('wake-sleep',)),)),
        Setting("k", 5, "int", "wake-sleep: importance samples of reweighted wake-sleep", 1, 100, applies=(("experiment", ('wake-sleep',)),)),
        Setting("lr", 3e-3, "float", "vae, wake-sleep, iwae: learning rate (Adam)", 1e-5, 1.0, live=True, log_scale=True,
                applies=(("experiment", ('vae', 'wake-sleep', 'iwae', 'vamp', 'ardecoder')),)),
        Setting("batch", 64, "int", "vae, wake-sleep, iwae: minibatch size", 1, 1024, live=True,
                applies=(("experiment", ('vae', 'wake-sleep', 'iwae', 'vamp', 'ardecoder')),)),
    ),
)
