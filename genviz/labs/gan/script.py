"""The GAN lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): the lab's data, G and D,
losses and Adam, trained as :class:`genviz.labs.gan.experiment.GanExperiment` trains them."""
from __future__ import annotations

from genviz.core import experiment as core_experiment
from genviz.core.script import Script, ScriptRun, header_part, loop_part, points_data_part, settings_code
from genviz.labs.gan import LAB
from genviz.models import gan

LOSS_PAPERS = {
    "minimax": "the original minimax loss (Goodfellow et al. 2014)",
    "nonsat": "the non-saturating loss (Goodfellow et al. 2014)",
    "lsgan": "least squares (Mao et al. 2017)",
    "wgan": "Wasserstein with weight clipping (Arjovsky et al. 2017)",
    "wgan-gp": "Wasserstein with a gradient penalty (Gulrajani et al. 2017)",
    "hinge": "the hinge loss (Lim & Ye 2017; Miyato et al. 2018)",
}


def script(run: ScriptRun) -> Script:
    s = run.settings
    out = Script(f"A GAN on {s['data']}: {LOSS_PAPERS[s['loss']]}",
                 f"Written by genviz from a session of its gan lab: {run.steps} steps, seed {run.seed}. Run it with "
                 "`python` (torch and numpy only): it prints one JSON line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    points_data_part(out, run.data or s["data"])
    extras = []
    if s["unroll"] > 0:
        extras.append("Unrolled GAN (Metz et al. 2017): G's loss looks through k differentiable D steps.")
    if s["pack"] > 1:
        extras.append(f"PacGAN (Lin et al. 2018): D judges {s['pack']} samples at once.")
    if s["r1"] > 0:
        extras.append("R1 penalty on real data (Mescheder et al. 2018).")
    out.part("Model, optimisers and random streams", """
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)  # G's noise, D's penalty mixing weights
        np_rng = np.random.default_rng(SEED)  # the data batches
        G = Generator(s["noise_dim"], s["g_hidden"], s["g_layers"], s["activation"], s["noise"]).to(device)
        D = Discriminator(s["d_hidden"], s["d_layers"], s["activation"], s["pack"]).to(device)
        opt_g = adam(G.parameters(), lr=s["lr_g"], betas=(s["beta1"], s["beta2"]))
        opt_d = adam(D.parameters(), lr=s["lr_d"], betas=(s["beta1"], s["beta2"]))
        g_params, d_params = list(G.parameters()), list(D.parameters())
        last = {"d_loss": float("nan"), "g_loss": float("nan"), "d_real": float("nan"), "d_fake": float("nan")}
        """, note=" ".join(extras), uses=(gan, core_experiment))
    out.part("One training step", """
        def real_batch():
            return torch.from_numpy(sample_data(s["batch"], np_rng)).to(device)


        def d_step(report=True):
            real = real_batch()
            with torch.no_grad():
                fake = G.rsample((s["batch"],), gen)
            loss, out_r, out_f = d_objective(D, s["loss"], real, fake, s["gp_weight"], s["r1"], gen)
            ok = guarded_update(loss, opt_d, d_params)
            if ok and s["loss"] == "wgan":
                with torch.no_grad():  # Arjovsky et al.'s Lipschitz constraint by weight clipping
                    torch._foreach_clamp_min_(d_params, -s["clip"])
                    torch._foreach_clamp_max_(d_params, s["clip"])
            if report:
                last.update(d_loss=float(loss.detach()),
                            d_real=float(d_probability(s["loss"], out_r.detach()).mean()),
                            d_fake=float(d_probability(s["loss"], out_f.detach()).mean()))
            return ok


        def g_step():
            fake = G.rsample((s["batch"],), gen)
            if s["unroll"] > 0:
                params = unrolled_params(D, opt_d, s["loss"], [real_batch() for _ in range(s["unroll"])], fake,
                                         gp_weight=s["gp_weight"], r1=s["r1"],
                                         clip=s["clip"] if s["loss"] == "wgan" else None, generator=gen)
                out = functional_call(D, params, (fake,))
            else:
                out = D(fake)
            loss = g_loss(s["loss"], out)
            ok = guarded_update(loss, opt_g, g_params)
            last["g_loss"] = float(loss.detach())
            return ok


        def lr_factor(step_count):
            half = s["lr_halflife"]
            return 1.0 if half <= 0 else max(0.05, 0.5 ** (step_count / half))


        def apply_lr(step_count):
            for opt, lr in ((opt_g, s["lr_g"]), (opt_d, s["lr_d"])):
                for group in opt.param_groups:
                    group["lr"], group["betas"] = lr * lr_factor(step_count), (s["beta1"], s["beta2"])


        def train_step(step_count):
            if s["lr_halflife"] > 0:
                apply_lr(step_count)
            n = s["d_steps"]
            for i in range(n):
                if not d_step(report=i == n - 1):
                    return {**last, "loss": float("nan")}
            if not g_step():
                return {**last, "loss": float("nan")}
            return {**last, "loss": last["d_loss"], "lr_factor": lr_factor(step_count)}


        def train_part(part, step_count, **args):
            # the window's "D step" and "G step" buttons: one update alone
            if s["lr_halflife"] > 0:
                apply_lr(step_count)
            ok = d_step(report=True) if part == "d" else g_step()
            if not ok:
                return {"loss": float("nan")}
            keys = ("d_loss", "d_real", "d_fake") if part == "d" else ("g_loss",)
            return {k: last[k] for k in keys}


        def on_setting(name, value, step_count):
            if name in ("lr_g", "lr_d", "beta1", "beta2", "lr_halflife"):
                apply_lr(step_count)
        """, uses=(gan, core_experiment))
    loop_part(out, run, "train_step(step - 1)", on_setting="on_setting", part_call="train_part")
    return out
