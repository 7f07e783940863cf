"""The 2-D VAE lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): the VAE trained as
:class:`genviz.labs.vae2d.experiment.PointVAEExperiment` trains it (the views' density, latent points and test
bounds are read-outs, not training)."""
from __future__ import annotations

from genviz.core.script import Script, ScriptRun, header_part, loop_part, points_data_part, settings_code
from genviz.labs.vae2d import LAB
from genviz.core import experiment as core_experiment
from genviz.models import vae2d


def script(run: ScriptRun) -> Script:
    s = run.settings
    out = Script("A VAE on 2-D points",
                 f"Written by genviz from a session of its vae2d lab: {run.steps} steps, seed {run.seed}. Kingma & "
                 "Welling (2014) with a 2-D latent; k > 1 trains the IWAE bound of Burda et al. (2016); the KL terms' "
                 "weight warms up from 0 to 1. Run it with `python` (torch and numpy only): it prints one JSON line "
                 "per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    points_data_part(out, run.data or s["data"])
    out.part("The VAE and one step", """
        torch.manual_seed(SEED)
        np_rng = np.random.default_rng(SEED)  # minibatches
        gen = torch.Generator().manual_seed(SEED + 1)  # the objective's z draws
        spread_rng = np.random.default_rng(SEED + 7)
        _test = sample_data(500, spread_rng)  # the lab's held-out points (drawn first, as the lab draws them)
        spread = float(np.sqrt(sample_data(4000, spread_rng).astype(np.float64).var(0).max()))
        model = PointVAE(s["hidden"], scale=spread)
        opt = adam(model.parameters(), lr=s["lr"])
        params = list(model.parameters())


        def train_step(step_count):
            x = torch.from_numpy(sample_data(s["batch"], np_rng))
            beta = 1.0 if s["warmup"] <= 0 else min(1.0, (step_count + 1) / s["warmup"])
            loss, bound = vae_loss(model, x, s["k"], gen, beta)
            ok = guarded_update(loss, opt, params, clip=100.0)
            return {"loss": float(loss.detach()) if ok else float("nan"), "train_bound": bound, "beta": beta}


        def on_setting(name, value, step_count):
            if name == "lr":
                for group in opt.param_groups:
                    group["lr"] = value
        """, uses=(vae2d, core_experiment))
    loop_part(out, run, "train_step(step - 1)")
    return out
