"""The flow lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): the data (or the target
energy), the flow's layers, its loss and Adam, trained as :class:`genviz.labs.flow.experiment.FlowExperiment`
trains them."""
from __future__ import annotations

import textwrap

from genviz.core import experiment as core_experiment
from genviz.core.script import (Script, ScriptError, ScriptRun, header_part, loop_part, points_data_part,
                                settings_code)
from genviz.labs.flow import LAB
from genviz.labs.flow import experiment as flow_experiment
from genviz.models import energies, flows

# the layers of each flow type, as genviz.models.flows.build_flow stacks them, and the paper each one is from
LAYERS = {
    "planar": ("[Planar() for _ in range(s['layers'])]", "planar flows (Rezende & Mohamed 2015)"),
    "radial": ("[Radial() for _ in range(s['layers'])]", "radial flows (Rezende & Mohamed 2015)"),
    "realnvp": ("[AffineCoupling(s['hidden'], flip=i % 2 == 1) for i in range(s['layers'])]",
                "affine coupling layers, RealNVP (Dinh et al. 2017)"),
    "maf": ("[MAF(2, s['hidden'], reverse_order=i % 2 == 1) for i in range(s['layers'])]",
            "masked autoregressive flow (Papamakarios et al. 2017) on MADE (Germain et al. 2015)"),
    "iaf": ("[IAF(2, s['hidden'], reverse_order=i % 2 == 1) for i in range(s['layers'])]",
            "inverse autoregressive flow (Kingma et al. 2016) on MADE (Germain et al. 2015)"),
    "spline": ("[SplineCoupling(s['hidden'], s['bins'], 5.0, flip=i % 2 == 1) for i in range(s['layers'])]",
               "rational-quadratic spline couplings, neural spline flows (Durkan et al. 2019)"),
}
ENERGY_FUNCTIONS = {"U1": "u1", "U2": "u2", "U3": "u3", "U4": "u4"}


def script(run: ScriptRun) -> Script:
    s = run.settings
    layers, paper = LAYERS[s["flow"]]
    density = s["fit"] == "density"
    target = (run.data or s["data"]) if density else s["energy"]
    out = Script(f"A normalizing flow ({s['layers']} {s['flow']} layers) fitted to {target}",
                 f"Written by genviz from a session of its flow lab: {run.steps} steps, seed {run.seed}; {paper}. "
                 + ("Maximum likelihood on samples (the forward KL). " if density else
                    "Reverse KL to exp(-U) with annealing (Rezende & Mohamed 2015). ")
                 + "Run it with `python` (torch and numpy only): it prints one JSON line per step, the session's "
                   "metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    beside = density and s["beside"] > 0
    beside_code = ""
    if beside:  # the second flow, built right after the first (the same torch stream as the lab's)
        beside_code = "\n" + textwrap.dedent(f"""
            # a flow of the same type with s["beside"] layers, trained on the same batches (drawn beside the main one)
            beside = Flow({layers.replace("s['layers']", "s['beside']")}).to(device)
            opt_beside = adam(beside.parameters(), lr=s["lr"])
            params_beside = list(beside.parameters())
            """)
    out.part("Model and optimiser", textwrap.dedent(f"""
        torch.manual_seed(SEED)
        np_rng = np.random.default_rng(SEED)  # the data batches
        flow = Flow({layers}).to(device)
        opt = adam(flow.parameters(), lr=s["lr"])
        params = list(flow.parameters())
        """) + beside_code, note="A base N(0, I) pushed through the layers: log p(x) = log N(f⁻¹(x)) + Σ log|det ∂f_k⁻¹/∂x|.",
             uses=(flows, core_experiment))
    if density:
        points_data_part(out, target)
        step = """
            def train_step(step_count):
                set_lr(step_count)
                x = torch.from_numpy(sample_data(s["batch"], np_rng)).to(device)
                loss = -flow.log_prob(x).mean()  # the negative log-likelihood of the batch, nats
                ok = guarded_update(loss, opt, params, clip=100.0)
                out = {"loss": float(loss.detach()) if ok else float("nan"), "train_nll": float(loss.detach())}
            """ + ("""
                loss_b = -beside.log_prob(x).mean()  # the same batch for the flow beside it
                ok_b = guarded_update(loss_b, opt_beside, params_beside, clip=100.0)
                out["beside_train_nll"] = float(loss_b.detach()) if ok_b else float("nan")
            """ if beside else "") + """
                return out
            """
    else:
        if s["energy"] not in ENERGY_FUNCTIONS:
            raise ScriptError(f"the target energy {s['energy'][:60]!r} is an expression: a script writes the named "
                              "targets U1-U4 (Rezende & Mohamed 2015)")
        out.part("The target", f"""
            energy = {ENERGY_FUNCTIONS[s["energy"]]}  # U(z): the target density is exp(-U) / Z
            # log Z by quadrature on [-6, 6]² (600² points): the reverse KL itself can be shown
            g = grid((-6, 6, -6, 6), 600).double()
            cell = (12 / 599) ** 2
            with torch.no_grad():
                log_z = float(torch.logsumexp(-energy(g), 0) + math.log(cell))
            """, note="The energies of Rezende & Mohamed (2015), table 1.",
                 uses=(energies, flow_experiment))
        step = """
            def beta_now(step_count):
                a = s["anneal"]  # beta rises from 0.01 to 1 over this many steps
                return 1.0 if a <= 0 else min(1.0, 0.01 + step_count / a)


            def train_step(step_count):
                set_lr(step_count)
                z, logq = flow.rsample_and_log_prob(s["batch"])
                beta = beta_now(step_count)
                free = (logq + beta * energy(z)).mean()  # E_q[log q + beta U] = KL(q || p_beta) - log Z_beta
                ok = guarded_update(free, opt, params, clip=10.0)  # planar flows spike without the clip
                with torch.no_grad():
                    kl = float((logq + energy(z)).mean()) + log_z
                return {"loss": float(free.detach()) if ok else float("nan"), "reverse_kl": kl, "beta": beta}
            """
    opts = "[opt, opt_beside]" if beside else "[opt]"
    out.part("One training step", textwrap.dedent(f"""
        def set_lr(step_count):
            if s["lr_halflife"] > 0:  # the learning rate halves every lr_halflife steps, down to 2 %
                for o in {opts}:
                    for group in o.param_groups:
                        group["lr"] = s["lr"] * max(0.02, 0.5 ** (step_count / s["lr_halflife"]))


        def on_setting(name, value, step_count):
            if name == "lr":
                for o in {opts}:
                    for group in o.param_groups:
                        group["lr"] = value
        """) + "\n\n" + textwrap.dedent(step), uses=(flows, core_experiment))
    loop_part(out, run, "train_step(step - 1)")
    return out
