"""The gradient-estimator lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): each of its
experiments (estimator variance on a Gaussian or a categorical q, three VAEs, three Helmholtz machines) as
:class:`genviz.labs.estimators.experiment.EstimatorsExperiment` runs it."""
from __future__ import annotations

from genviz.core import experiment as core_experiment
from genviz.core.script import Script, ScriptRun, header_part, images_data_part, loop_part, settings_code
from genviz.labs.estimators import LAB
from genviz.labs.estimators import experiment as est_experiment
from genviz.models import estimators

TITLES = {
    "variance": "Score-function and reparameterisation gradient estimates of E_q[f(z)], q = N(mu, sigma²)",
    "discrete": "Score-function and Gumbel-softmax gradient estimates for a categorical q",
    "vae": "One VAE trained three ways: reparameterised, score-function, score-function with a baseline",
    "wake-sleep": "Helmholtz machines trained by wake-sleep, reweighted wake-sleep and a score-function ELBO",
    "iwae": "One VAE trained three ways: on the IWAE bound with k = 1 (the ELBO), 5 and 50 importance samples",
    "vamp": "One VAE with the standard normal prior and a copy with a VampPrior",
    "ardecoder": "One VAE with a factorized decoder and a copy with an autoregressive (MADE) decoder",
}
PAPERS = {
    "variance": "The score function (REINFORCE, Williams 1992) against the reparameterisation trick (Kingma & "
                "Welling 2014); the baseline is a running mean of f.",
    "discrete": "The score function with and without a baseline against the Gumbel-softmax relaxation (Jang et al. "
                "2017; Maddison et al. 2017), biased at every temperature above 0.",
    "vae": "Kingma & Welling (2014); the score-function ELBO gradient as in NVIL (Mnih & Gregor 2014).",
    "wake-sleep": "Wake-sleep (Hinton et al. 1995), reweighted wake-sleep (Bornschein & Bengio 2015), the "
                  "score-function ELBO with a baseline (Mnih & Gregor 2014).",
    "iwae": "Importance weighted autoencoders (Burda et al. 2016).",
    "vamp": "The VampPrior (Tomczak & Welling 2018): a mixture of the encoder's posteriors at learned pseudo-inputs.",
    "ardecoder": "An autoregressive decoder lets the VAE ignore z (Bowman et al. 2016; Chen et al. 2017).",
}

STEPS = {
    "variance": """
        decoder = Decoder1D(seed=SEED)  # the 'decoder' f: a small fixed Bernoulli likelihood of a scalar z


        def train_step(step_count):
            global baseline
            f, _ = f_and_df(s["f"], decoder)
            out = {}
            for est in GAUSSIAN:  # PER_STEP single-sample estimates from each estimator
                draws = gaussian_estimates(s["f"], est, s["mu"], s["sigma"], PER_STEP, rng, decoder, baseline=baseline)
                keep(est, draws)
                out[f"mean_{est}"] = float(kept[est].mean())
            # the baseline: a running mean of f from this step's fresh draws, used from the next step on
            fresh = float(np.mean(f(s["mu"] + s["sigma"] * rng.standard_normal(PER_STEP))))
            baseline = fresh if step_count == 0 else 0.9 * baseline + 0.1 * fresh
            out["loss"] = float(np.var(kept["sf"]))  # the score function's variance
            return out
        """,
    "discrete": """
        logits = np.random.default_rng(SEED + 1).normal(0, 0.7, s["categories"])  # q's logits
        values = np.random.default_rng(SEED + 2).uniform(-1, 1, s["categories"])  # f of each category


        def train_step(step_count):
            out = {}
            for est in DISCRETE:
                draws = categorical_estimates(logits, values, est, PER_STEP, rng, s["temperature"])
                keep(est, draws)
                out[f"mean_{est}"] = float(kept[est][:, 0].mean())
            out["loss"] = float(kept["sf"][:, 0].var())
            return out
        """,
    "vae": """
        first = SmallVAE(x_train.shape[1], s["latent"], s["hidden"])
        models = [copy.deepcopy(first) for _ in VAE_METHODS]  # one start for all three
        opts = [torch.optim.Adam(m.parameters(), lr=s["lr"]) for m in models]
        baselines = {m: 0.0 for m in VAE_METHODS}


        def train_step(step_count):
            x = batch()  # the same minibatch for all three
            out = {}
            for method, model, opt in zip(VAE_METHODS, models, opts):
                if method == "reparam":
                    q = model.q(x)
                    z = q.rsample()
                    elbo = model.log_joint(x, z) - q.log_prob(z).sum(-1)
                    loss = -elbo.mean()
                else:  # the score function: (log p(x, z) - log q(z|x) - b) grad log q(z|x), plus grad log p(x, z)
                    q = model.q(x)
                    z = q.sample()
                    log_q = q.log_prob(z).sum(-1)
                    log_joint = model.log_joint(x, z)
                    elbo = (log_joint - log_q).detach()
                    b = baselines[method] if method == "sf-baseline" else 0.0
                    loss = -(log_joint + (elbo - b) * log_q).mean()
                    baselines[method] = 0.9 * baselines[method] + 0.1 * float(elbo.mean())
                ok = guarded_update(loss, opt, list(model.parameters()))
                out[f"elbo_{method}"] = float(elbo.detach().mean()) if ok else float("nan")
            out["loss"] = -out["elbo_reparam"]
            return out
        """,
    "iwae": """
        first = SmallVAE(x_train.shape[1], s["latent"], s["hidden"])
        models = [copy.deepcopy(first) for _ in IWAE_METHODS]  # one start for all three
        opts = [torch.optim.Adam(m.parameters(), lr=s["lr"]) for m in models]


        def train_step(step_count):
            x = batch()  # the same minibatch for all three
            out = {}
            for k, method, model, opt in zip(IWAE_KS, IWAE_METHODS, models, opts):
                bound = model.iwae_bound(x, k)  # log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q reparameterized
                ok = guarded_update(-bound.mean(), opt, list(model.parameters()))
                out[f"bound_{method}"] = float(bound.detach().mean()) if ok else float("nan")
            out["loss"] = -out["bound_k1"]
            return out
        """,
    "vamp": """
        first = SmallVAE(x_train.shape[1], s["latent"], s["hidden"])
        pick = torch.randint(0, len(x_train), (s["pseudo"],), generator=gen)
        start = torch.logit(x_train[pick].clamp(0.05, 0.95))  # pseudo-inputs start at training images
        vamp = VampVAE(x_train.shape[1], s["latent"], s["hidden"], start)
        vamp.load_state_dict({**first.state_dict(), "pseudo": start})  # the same encoder and decoder start
        models = [first, vamp]
        opts = [torch.optim.Adam(m.parameters(), lr=s["lr"]) for m in models]


        def train_step(step_count):
            x = batch()  # the same minibatch for both
            out = {}
            for method, model, opt in zip(VAMP_METHODS, models, opts):
                q = model.q(x)
                z = q.rsample()
                elbo = model.log_joint(x, z) - q.log_prob(z).sum(-1)  # one draw, the KL by Monte Carlo for both
                ok = guarded_update(-elbo.mean(), opt, list(model.parameters()))
                out[f"elbo_{method}"] = float(elbo.detach().mean()) if ok else float("nan")
            out["loss"] = -out["elbo_standard"]
            return out
        """,
    "ardecoder": """
        first = SmallVAE(x_train.shape[1], s["latent"], s["hidden"])
        ar = ARDecoderVAE(x_train.shape[1], s["latent"], s["hidden"], s["ar_hidden"])
        ar.load_state_dict({**ar.state_dict(), **first.state_dict()})  # the same encoder and decoder start
        models = [first, ar]
        opts = [torch.optim.Adam(m.parameters(), lr=s["lr"]) for m in models]


        def train_step(step_count):
            x = batch()  # the same minibatch for both
            out = {}
            for method, model, opt in zip(AR_METHODS, models, opts):
                q = model.q(x)
                z = q.rsample()
                elbo = model.log_joint(x, z) - q.log_prob(z).sum(-1)  # one draw
                ok = guarded_update(-elbo.mean(), opt, list(model.parameters()))
                out[f"elbo_{method}"] = float(elbo.detach().mean()) if ok else float("nan")
            out["loss"] = -out["elbo_factorized"]
            return out
        """,
    "wake-sleep": """
        first = HelmholtzMachine(x_train.shape[1], s["latents"], seed=SEED)
        models = [copy.deepcopy(first) for _ in WS_METHODS]  # one start for all three
        opts = [torch.optim.Adam(m.parameters(), lr=s["lr"]) for m in models]
        baselines = {m: 0.0 for m in WS_METHODS}


        def train_step(step_count):
            x = batch()
            out = {}
            for method, model, opt in zip(WS_METHODS, models, opts):
                gen_loss, rec_loss, info = wake_sleep_losses(model, x, method, k=s["k"], baseline=baselines[method],
                                                             generator=gen)
                ok = guarded_update(gen_loss + rec_loss, opt, list(model.parameters()))
                if "signal" in info:
                    baselines[method] = 0.9 * baselines[method] + 0.1 * info["signal"]
                out[f"train_{method}"] = float(gen_loss.detach()) if ok else float("nan")
            out["loss"] = out["train_wake-sleep"]
            return out
        """,
}


def script(run: ScriptRun) -> Script:
    s = run.settings
    kind = s["experiment"]
    out = Script(TITLES[kind], f"Written by genviz from a session of its estimators lab ({kind}): {run.steps} steps, "
                 f"seed {run.seed}. {PAPERS[kind]} Run it with `python` (torch and numpy only): it prints one JSON "
                 "line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    out.part("Random streams and the estimates kept", """
        torch.manual_seed(SEED)
        rng = np.random.default_rng(SEED)  # the estimators' draws
        gen = torch.Generator().manual_seed(SEED)  # minibatches, wake-sleep's samples
        kept = {}  # the most recent KEEP estimates of each estimator
        baseline = 0.0
        opts = []  # the optimisers (vae, wake-sleep)


        def keep(name, values):
            old = kept.get(name)
            kept[name] = values if old is None else np.concatenate([old, values], 0)[-KEEP:]
        """, uses=(est_experiment,))
    if kind in ("vae", "wake-sleep", "iwae", "vamp", "ardecoder"):
        images_data_part(out, run.data)
        out.part("Binary images", """
            x = torch.from_numpy((IMAGES.reshape(len(IMAGES), -1) > 0.5).astype(np.float32))
            perm = torch.from_numpy(np.random.default_rng(SEED).permutation(len(x)))
            n_test = max(1, min(len(x) // 10, 10000))
            x_test, x_train = x[perm[:n_test]], x[perm[n_test:]]


            def batch():
                return x_train[torch.randint(0, len(x_train), (s["batch"],), generator=gen)]
            """)
    out.part("One step", STEPS[kind], uses=(est_experiment, estimators, core_experiment))
    out.part("Live changes", """
        def on_setting(name, value, step_count):
            global kept, baseline
            if name in ("f", "mu", "sigma", "temperature"):  # a new question: the old estimates do not answer it
                kept = {}
                baseline = 0.0
            if name == "lr":
                for opt in opts:
                    for group in opt.param_groups:
                        group["lr"] = value
        """)
    loop_part(out, run, "train_step(step - 1)")
    return out
