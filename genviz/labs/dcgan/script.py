"""The DCGAN lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): the generator and the
discriminator trained as :class:`genviz.labs.dcgan.experiment.DCGANExperiment` trains them (the views' samples and
the digit score are read-outs, not training)."""
from __future__ import annotations

from genviz.core.script import Script, ScriptRun, header_part, images_data_part, loop_part, settings_code
from genviz.labs.dcgan import LAB
from genviz.labs.dcgan import experiment as dcgan_experiment
from genviz.models import dcgan


def script(run: ScriptRun) -> Script:
    s = run.settings
    out = Script("A small DCGAN on images",
                 f"Written by genviz from a session of its dcgan lab: {run.steps} steps, seed {run.seed}. Radford, "
                 "Metz & Chintala (2016): transposed convolutions with batch norm in G, strided convolutions in D, "
                 "Adam with beta1 = 0.5; the non-saturating loss of Goodfellow et al. (2014). Run it with `python` "
                 "(torch and numpy only): it prints one JSON line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    images_data_part(out, run.data)
    out.part("The networks and one step", """
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)  # minibatches and every z
        test, train = split(IMAGES, SEED)  # the lab holds out 10 % for its digit score
        x_train = torch.from_numpy(IMAGES)[train] * 2 - 1  # G's range [-1, 1]
        G = Generator(s["latent"], s["channels"], IMAGES.shape[1:])
        D = Discriminator(s["channels"], IMAGES.shape[1:])
        opt_g = torch.optim.Adam(G.parameters(), lr=s["lr"], betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=s["lr"], betas=(0.5, 0.999))


        def train_step(step_count):
            idx = torch.randint(0, len(x_train), (s["batch"],), generator=gen)
            return gan_step(G, D, opt_g, opt_d, x_train[idx], gen)


        def on_setting(name, value, step_count):
            if name == "lr":
                for opt in (opt_g, opt_d):
                    for group in opt.param_groups:
                        group["lr"] = value
        """, uses=(dcgan_experiment, dcgan))
    loop_part(out, run, "train_step(step - 1)")
    return out
