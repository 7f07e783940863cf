"""The Boltzmann-machine lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): a general BM
learned by the Boltzmann rule (or its exact gradient), or a DBN trained greedily, with every KL exact, as
:class:`genviz.labs.boltzmann.experiment.BoltzmannExperiment` runs them."""
from __future__ import annotations

from genviz.core.script import Script, ScriptRun, header_part, loop_part, settings_code
from genviz.labs.boltzmann import LAB
from genviz.labs.boltzmann import experiment as bz_experiment
from genviz.models import boltzmann, rbm

TITLES = {"bm": "A general Boltzmann machine on bars and stripes, learned by the Boltzmann rule",
          "dbn": "A deep belief net on bars and stripes, trained greedily one RBM at a time"}
PAPERS = {"bm": "Ackley, Hinton & Sejnowski (1985); both phases by Gibbs sampling, persistent negative chains.",
          "dbn": "Hinton, Osindero & Teh (2006); each RBM by PCD-k (Tieleman 2008) with momentum."}

STEPS = {
    "bm": """
        bm = BoltzmannMachine(x.shape[1], s["hidden"], s["connect"], generator=gen)
        positive_h = torch.bernoulli(torch.full((len(x), s["hidden"]), 0.5, dtype=torch.float64), generator=gen)
        negative = torch.bernoulli(torch.full((s["chains"], x.shape[1] + s["hidden"]), 0.5, dtype=torch.float64),
                                   generator=gen)


        def train_step(step_count):
            global positive_h
            with torch.no_grad():
                row, positive_h = bm_step(bm, x, positive_h, negative, s, gen)
            return row
        """,
    "dbn": """
        v, h = x.shape[1], s["hidden"]
        rbm1 = RBM(v, h, init_std=0.1).double()
        top = RBM(h, v, init_std=0.1).double()
        velocity1 = {"W": torch.zeros_like(rbm1.W), "b": torch.zeros_like(rbm1.b), "c": torch.zeros_like(rbm1.c)}
        velocity2 = {"W": torch.zeros_like(top.W), "b": torch.zeros_like(top.b), "c": torch.zeros_like(top.c)}
        persistent1 = torch.bernoulli(torch.full((s["chains"], v), 0.5, dtype=torch.float64), generator=gen)
        persistent2 = torch.bernoulli(torch.full((s["chains"], h), 0.5, dtype=torch.float64), generator=gen)


        def train_step(step_count):
            global persistent1, persistent2
            with torch.no_grad():
                if step_count < s["layer_steps"]:  # layer 1: an RBM on the patterns
                    persistent1 = pcd_step(rbm1, x, persistent1, velocity1, s["k"], s["lr"], s["momentum"], gen)
                    return dbn_metrics(rbm1, top, x, False)
                if step_count == s["layer_steps"] and s["top_init"] == "transpose":
                    top.W.copy_(rbm1.W.T)  # the second RBM starts as the first upside down
                    top.b.copy_(rbm1.c)
                    top.c.copy_(rbm1.b)
                # layer 2: the first RBM frozen, a second on its hidden activities
                h1 = dbn_h1_data(rbm1, x, gen)
                persistent2 = pcd_step(top, h1, persistent2, velocity2, s["k2"], s["lr2"], s["momentum"], gen)
                return dbn_metrics(rbm1, top, x, True)
        """,
}


def script(run: ScriptRun) -> Script:
    s = run.settings
    kind = s["experiment"]
    out = Script(TITLES[kind], f"Written by genviz from a session of its boltzmann lab ({kind}): {run.steps} steps, "
                 f"seed {run.seed}. {PAPERS[kind]} Every KL is exact, by enumerating the states. Run it with "
                 "`python` (torch and numpy only): it prints one JSON line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    out.part("The data and the random streams", """
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)  # every Gibbs sample
        x = bars_and_stripes(s["size"])  # every pattern once: the data are uniform on them
        """, uses=(boltzmann,))
    out.part("The model and one step", STEPS[kind], uses=(bz_experiment, boltzmann, rbm))
    out.part("Live settings", """
        def on_setting(name, value, step_count):
            pass  # every live setting is read from s at each step
        """)
    loop_part(out, run, "train_step(step - 1)")
    return out
