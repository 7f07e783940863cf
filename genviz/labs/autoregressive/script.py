"""The autoregressive lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): binary images
(or binned 2-D points), the model, its exact likelihood and Adam, trained as
:class:`genviz.labs.autoregressive.experiment.AutoregressiveExperiment` trains them."""
from __future__ import annotations

import textwrap

from genviz.core import experiment as core_experiment
from genviz.core.script import (Script, ScriptRun, header_part, images_data_part, loop_part, lr_setting_code,
                                points_data_part, pretty, settings_code)
from genviz.labs.autoregressive import LAB
from genviz.labs.autoregressive import experiment as ar_experiment
from genviz.models import autoregressive

MODELS = {
    "nade": ("NADE(D, s['hidden'], order=make_order(D, s['order'], SEED))", "NADE (Larochelle & Murray 2011)"),
    "made": ("MADE(D, (s['hidden'], s['hidden']), masks=s['masks'], order=s['order'], seed=SEED)",
             "MADE (Germain et al. 2015)"),
    "pixelcnn": ("PixelCNN(H, W, s['channels'], s['layers'])", "PixelCNN (van den Oord et al. 2016)"),
    "wavenet": ("WaveNet(D, s['channels'], s['layers'])", "WaveNet's dilated causal convolutions (van den Oord et al. "
                "2016)"),
    "rowlstm": ("RowLSTM(H, W, s['channels'])", "PixelRNN's Row LSTM (van den Oord et al. 2016)"),
    "diagonal": ("DiagonalBiLSTM(H, W, s['channels'])", "PixelRNN's Diagonal BiLSTM (van den Oord et al. 2016)"),
    "gated": ("GatedPixelCNN(H, W, s['channels'], s['layers'] + 1)",
              "Gated PixelCNN (van den Oord et al. 2016, 'Conditional image generation')"),
}


def script(run: ScriptRun) -> Script:
    s = run.settings
    points = bool(s["points"])
    model, paper = MODELS[s["model"]] if not points else (None, "a binned autoregressive model p(i) p(j | i)")
    out = Script(f"An autoregressive model: {paper}",
                 f"Written by genviz from a session of its autoregressive lab: {run.steps} steps, seed {run.seed}. "
                 "Trained by exact maximum likelihood (the chain rule over the pixels' Bernoulli conditionals). Run "
                 "it with `python` (torch and numpy only): it prints one JSON line per step, the session's metric "
                 "rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    if points:
        from genviz.data.toy2d import make_toy

        toy = make_toy(s["points"])
        points_data_part(out, s["points"])
        out.part("Binned points, model and optimiser", f"""
            torch.manual_seed(SEED)
            gen = torch.Generator().manual_seed(SEED)  # the minibatches
            rng = np.random.default_rng(SEED)
            B = s["bins"]
            x0, x1, y0, y1 = {pretty(tuple(float(v) for v in toy.extent))}  # the data's extent, cut into B x B bins


            def binned(points):
                i = np.floor((points[:, 0] - x0) / (x1 - x0) * B)
                j = np.floor((points[:, 1] - y0) / (y1 - y0) * B)
                ij = np.stack([np.clip(i, 0, B - 1), np.clip(j, 0, B - 1)], 1).astype(np.int64)
                return torch.from_numpy(ij)  # points past the extent count in its edge bins


            x_train = binned(sample_data(20000, rng))
            model = BinnedAR2D(B, min(s["hidden"], 512)).to(device)
            opt = adam(model.parameters(), lr=s["lr"])
            params = list(model.parameters())


            def batch(n):
                return x_train[torch.randint(0, len(x_train), (n,), generator=gen)].to(device)
            """, uses=(autoregressive, core_experiment))
    else:
        from genviz.data import load_dataset

        official = ar_experiment.official_test_split(load_dataset(run.data, seed=run.seed)) is not None
        images_data_part(out, run.data)
        split = ("# MNIST's own test images are held out in their own file: all of these train\n"
                 "gray_train = gray" if official else
                 "perm = np.random.default_rng(SEED).permutation(n)\n"
                 "n_test = max(1, min(n // 10, 10000))  # held out at random for the test NLL\n"
                 "gray_train = gray[perm[n_test:]]")
        out.part("Binary training images, model and optimiser", f"""
            torch.manual_seed(SEED)
            gen = torch.Generator().manual_seed(SEED)  # minibatches and dynamic binarization
            n, H, W = IMAGES.shape
            D = H * W
            gray = torch.from_numpy(IMAGES.reshape(n, -1).astype(np.float32))
            {split.replace(chr(10), chr(10) + " " * 12)}
            gray_train = gray_train.clamp(0, 1)
            x_train = (gray_train > 0.5).float()  # binarized at 0.5 once (or drawn afresh: dynamic)
            model = {model}.to(device)
            opt = adam(model.parameters(), lr=s["lr"])
            params = list(model.parameters())


            def batch(n):
                idx = torch.randint(0, len(x_train), (n,), generator=gen)
                if s["binarize"] == "dynamic":
                    return torch.bernoulli(gray_train[idx], generator=gen).to(device)
                return x_train[idx].to(device)
            """, uses=(autoregressive, core_experiment))
    out.part("One training step", textwrap.dedent("""
        def train_step(step_count):
            if isinstance(model, MADE) and model.n_masks > 1:
                model.use_mask(step_count % model.n_masks)  # order-agnostic training: the orderings in turn
            x = batch(s["batch"])
            nll = -model.log_prob(x).mean()  # exact: -log p(x) = -sum_d log p(x_d | x_<d), nats per image
            ok = guarded_update(nll, opt, params)
            value = float(nll.detach())
            return {"loss": value if ok else float("nan"), "train_nll": value}

        """) + lr_setting_code("opt"), uses=(autoregressive, core_experiment))
    loop_part(out, run, "train_step(step - 1)")
    return out
