"""The diffusion lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): the data, the
network, the process and its loss, trained as :class:`genviz.labs.diffusion.experiment.DiffusionExperiment`
trains them."""
from __future__ import annotations

import textwrap

from genviz.core import experiment as core_experiment
from genviz.core.script import (Script, ScriptRun, header_part, loop_part, lr_setting_code, points_data_part,
                                settings_code)
from genviz.data.toy2d import make_toy
from genviz.labs.diffusion import LAB
from genviz.labs.diffusion import experiment as diffusion_experiment
from genviz.models import diffusion

PROCESSES = {
    "vp-linear": "DDPM's noise prediction with the linear schedule (Ho et al. 2020), a variance-preserving SDE",
    "vp-cosine": "DDPM's noise prediction with the cosine schedule (Nichol & Dhariwal 2021)",
    "ve": "denoising score matching on a variance-exploding SDE (Song et al. 2021)",
    "flow": "flow matching / rectified flow (Lipman et al. 2023; Liu et al. 2023)",
}


def script(run: ScriptRun) -> Script:
    s = run.settings
    toy = make_toy(s["data"])
    labelled = toy.modes is not None and len(toy.modes) > 1
    classes = len(toy.modes) if labelled and s["guidance"] > 0 else 0
    out = Script(f"A diffusion model on {toy.name}: {s['process']}",
                 f"Written by genviz from a session of its diffusion lab: {run.steps} steps, seed {run.seed}; "
                 f"{PROCESSES[s['process']]}." + (" One network learns the conditional and the unconditional model "
                                                   "(classifier-free guidance, Ho & Salimans 2022)." if classes else "")
                 + " Run it with `python` (torch and numpy only): it prints one JSON line per step, the session's "
                   "metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    points_data_part(out, s["data"])
    labels = """
        # guidance asked for at the start: each point is labelled by its nearest mode
        modes = torch.from_numpy(np.asarray(MEANS, np.float32))
        y_train = torch.cdist(x_train.float(), modes).argmin(1)
        """ if classes else """
        y_train = None  # an unconditional model
        """
    out.part("Training set, model and optimiser", f"""
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)  # minibatches, noise levels and noise
        rng = np.random.default_rng(SEED)
        x_train = torch.from_numpy(sample_data(N_TRAIN, rng))  # a fixed training set of {diffusion_experiment.N_TRAIN:,} points
        classes = {classes}
        {labels.strip()}
        model = DiffusionModel(s["process"], s["hidden"], s["layers"], classes=classes).to(device)
        opt = adam(model.parameters(), lr=s["lr"])
        params = list(model.parameters())
        """, uses=(diffusion_experiment, diffusion, core_experiment))
    out.part("One training step", textwrap.dedent("""
        def train_step(step_count):
            idx = torch.randint(0, len(x_train), (s["batch"],), generator=gen)
            y = y_train[idx].to(device) if classes else None
            # per-example loss: || net(x_t, t) - target ||², t uniform, x_t = a(t) x_0 + b(t) eps
            per, t = model.loss(x_train[idx].to(device), generator=gen, y=y, dropout=0.1)
            loss = per.mean()
            ok = guarded_update(loss, opt, params)
            return {"loss": float(loss.detach()) if ok else float("nan")}

        """) + lr_setting_code("opt"), uses=(diffusion, core_experiment))
    loop_part(out, run, "train_step(step - 1)")
    return out
