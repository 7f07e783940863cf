"""The VAE family's runs as plain PyTorch scripts (``genviz export SESSION --format py``): the data split, the
VAE, its ELBO and Adam, trained as :class:`genviz.vae.experiment.VAEExperiment` trains them (the manifold,
posterior and arithmetic labs)."""
from __future__ import annotations

import textwrap

from genviz.core import experiment as core_experiment
from genviz.core.script import (Script, ScriptRun, header_part, images_data_part, loop_part, lr_setting_code,
                                settings_code)
from genviz.models import vae


def script(run: ScriptRun) -> Script:
    s = run.settings
    out = Script(f"A VAE ({s['latent']}-D latent, {s['likelihood']} p(x|z)) trained on its ELBO",
                 f"Written by genviz from a session of its {run.lab} lab: {run.steps} steps, seed {run.seed}. The "
                 "variational autoencoder of Kingma & Welling (2014), trained with the reparameterisation trick; "
                 "beta weights the KL term (Higgins et al. 2017), warm-up ramps it in (Bowman et al. 2016). Run it "
                 "with `python` (torch and numpy only): it prints one JSON line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, sorted(s)))
    images_data_part(out, run.data)
    out.part("Train and test split, model, optimiser", """
        torch.manual_seed(SEED)
        rng = torch.Generator().manual_seed(SEED)  # the minibatches
        n = len(IMAGES)
        perm = np.random.default_rng(SEED).permutation(n)
        n_test = max(1, min(n // 10, 5000))  # held out: the test -ELBO
        test_idx, train_idx = perm[:n_test], perm[n_test:]
        flat = torch.from_numpy(IMAGES.reshape(n, -1))
        x_train = flat[train_idx].to(device)
        model = VAE(flat.shape[1], s["latent"], (s["hidden"],) * s["layers"], s["activation"], s["likelihood"],
                    s["sigma"]).to(device)
        optimizer = adam(model.parameters(), lr=s["lr"])
        params = list(model.parameters())
        """, uses=(vae, core_experiment))
    out.part("One training step", textwrap.dedent("""
        def beta_now(step_count):
            warm = s["warmup"]  # KL warm-up: beta rises linearly over this many steps
            ramp = 1.0 if warm <= 0 else min(1.0, (step_count + 1) / warm)
            return float(s["beta"]) * ramp


        def batch():
            idx = torch.randint(0, len(x_train), (s["batch"],), generator=rng)
            x = x_train[idx.to(x_train.device)]
            if s["binarize"] == "dynamic" and s["likelihood"] == "bernoulli":
                x = torch.bernoulli(x)
            return x


        def train_step(step_count):
            model.train()
            beta = beta_now(step_count)
            loss, terms = model.loss(batch(), beta)  # beta * KL - E_q[log p(x|z)], averaged over the batch
            guarded_update(loss, optimizer, params)
            recon = float(terms["recon"].detach().mean())
            kl = float(terms["kl"].detach().mean())
            return {"loss": float(loss.detach()), "neg_elbo": kl - recon, "recon_nll": -recon, "kl": kl, "beta": beta}

        """) + lr_setting_code("optimizer"), uses=(vae, core_experiment))
    if run.lab == "posterior":
        out.part("The posterior lab's objective", _posterior_step(), uses=(vae, core_experiment))
        loop_part(out, run, "train_posterior_step(step - 1)")
    else:
        loop_part(out, run, "train_step(step - 1)")
    return out


def _posterior_step() -> str:
    return """
        def train_posterior_step(step_count):
            # the posterior lab's objective: the ELBO, or the IWAE bound with k samples (Burda et al. 2016)
            if s["objective"] != "iwae":
                m = train_step(step_count)
                return {"loss": m["loss"], "neg_bound": m["neg_elbo"], "kl": m["kl"]}
            model.train()
            loss, bound = model.iwae_loss(batch(), int(s["k"]))
            guarded_update(loss, optimizer, params)
            return {"loss": float(loss.detach()), "neg_bound": float(-bound.detach().mean())}
        """
