"""The Gibbs-chain lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): an RBM trained by
CD-k or PCD-k with momentum, and the shown Gibbs chains beside it (they draw from the same random stream), as
:class:`genviz.labs.gibbs.experiment.GibbsExperiment` runs them."""
from __future__ import annotations

from genviz.core.script import Script, ScriptRun, header_part, images_data_part, loop_part, settings_code
from genviz.labs.gibbs import LAB
from genviz.labs.gibbs import experiment as gibbs_experiment
from genviz.models import rbm


def script(run: ScriptRun) -> Script:
    s = run.settings
    method = "persistent contrastive divergence (Tieleman 2008)" if s["method"] == "pcd" else \
        "contrastive divergence (Hinton 2002)"
    out = Script(f"A restricted Boltzmann machine ({s['hidden']} hidden units) trained by {method}",
                 f"Written by genviz from a session of its gibbs lab: {run.steps} steps, seed {run.seed}. Each step "
                 f"is a {s['method'].upper()}-k update with momentum and weight decay (Hinton's practical guide, "
                 "2010), then one Gibbs step of the chains the lab shows. Run it with `python` (torch and numpy "
                 "only): it prints one JSON line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    images_data_part(out, run.data)
    out.part("Binary images, the RBM and its momentum", """
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)  # every Gibbs sample
        index_gen = torch.Generator().manual_seed(SEED + 1)  # minibatch and restart picks
        n = len(IMAGES)
        flat = (torch.from_numpy(IMAGES.reshape(n, -1)) > 0.5).float()  # binarized once
        perm = np.random.default_rng(SEED).permutation(n)
        n_test = max(1, min(n // 10, 10000))
        x_test, x_train = flat[perm[:n_test]], flat[perm[n_test:]]
        H, W = IMAGES.shape[1:]
        # Hinton's practical guide: visible biases at the data's log-odds, hidden at 0, W ~ N(0, 0.01²)
        model = RBM(flat.shape[1], s["hidden"], visible_bias=base_rate_bias(x_train.mean(0)))
        params = {"W": model.W, "b": model.b, "c": model.c}
        velocity = {name: torch.zeros_like(p) for name, p in params.items()}


        def data_batch(n):
            return x_train[torch.randint(0, len(x_train), (n,), generator=index_gen)]


        persistent = data_batch(s["batch"])  # PCD's fantasy particles
        """, uses=(rbm,))
    out.part("The shown chains", """
        painted = None  # the pixels painted on the reference image (the window's paint brush)


        def reference():
            return x_test[s["image"] % len(x_test)]


        def apply_clamp():
            global chains
            m = clamp_mask(s["clamp"], (H, W), painted)  # the clamped pixels, or None
            if m is not None:
                chains = torch.where(torch.from_numpy(m), reference(), chains)


        def restart_chains(start=None):
            global chains, chain_h, next_half, last_free
            start = start or s["start"]
            n = s["chains"]
            if start == "data":
                chains = x_test[torch.randint(0, len(x_test), (n,), generator=index_gen)].clone()
            elif start == "image":
                chains = reference().expand(n, -1).clone()
            else:
                chains = torch.bernoulli(torch.full((n, model.n_visible), 0.5), generator=gen)
            chain_h = torch.zeros(n, model.n_hidden)
            next_half, last_free = "h", None
            apply_clamp()


        @torch.no_grad()
        def half_step():
            # h from v, or v from h (then the clamped pixels put back)
            global chains, chain_h, next_half, last_free
            Wt, b, c = model.W, model.b, model.c
            if next_half == "h":
                pre = chains @ Wt + c
                chain_h = torch.bernoulli(torch.sigmoid(pre), generator=gen)
                last_free = -(chains @ b) - torch.nn.functional.softplus(pre).sum(-1)  # F(v) of each chain
                next_half = "v"
            else:
                chains = torch.bernoulli(torch.sigmoid(chain_h @ Wt.T + b), generator=gen)
                apply_clamp()
                next_half = "h"


        restart_chains()
        """, uses=(gibbs_experiment,))
    out.part("One training step", """
        @torch.no_grad()
        def train_step(step_count):
            global persistent
            if s["mode"] == "sample":  # the chains alone, the model fixed
                half_step()
                half_step()
                return {"chain_free_energy": float(last_free.cpu().numpy().mean())}
            v_data = data_batch(s["batch"])
            if s["method"] == "pcd":
                if len(persistent) != s["batch"]:
                    persistent = data_batch(s["batch"])
                persistent, _, _ = model.gibbs(persistent, s["k"], generator=gen)
                v_model = persistent
            else:
                v_model, _, _ = model.gibbs(v_data, s["k"], generator=gen)
            grads = model.cd_gradients(v_data, v_model)  # <v h>_data - <v h>_model, and the biases'
            grads["W"] = grads["W"] - s["weight_decay"] * model.W
            new_velocity = {k: s["momentum"] * velocity[k] + s["lr"] * g for k, g in grads.items()}
            if not all(bool(torch.isfinite(v).all()) for v in new_velocity.values()):
                return {"recon_error": float("nan")}
            for k, p in params.items():
                velocity[k] = new_velocity[k]
                p.add_(new_velocity[k])
            recon = float(model.reconstruction_error(v_data).mean())
            half_step()
            half_step()
            return {"recon_error": recon}


        def train_part(part, step_count, **args):
            # the window's ½ step, Restart chains and painted clamp
            global painted
            if part == "half":
                half_step()
                return {"next_half_v": float(next_half == "v")}
            if part == "restart":
                restart_chains(args.get("start"))
                return {}
            painted = np.asarray(args["mask"], bool).reshape(-1)
            apply_clamp()
            return {"painted": float(painted.sum())}


        def on_setting(name, value, step_count):
            if name in ("clamp", "image"):
                apply_clamp()
        """, uses=(gibbs_experiment,))
    loop_part(out, run, "train_step(step - 1)", part_call="train_part")
    return out
