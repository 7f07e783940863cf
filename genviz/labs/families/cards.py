"""Info cards of the families lab's views (genviz.core.cards)."""
import math

from genviz.core.cards import Card, Equation, Term

PACGAN = ("Lin et al., PacGAN: the power of two samples in generative adversarial networks (NeurIPS 2018): the "
          "mode-coverage protocol")
THEIS = "Theis, van den Oord &amp; Bethge, A note on the evaluation of generative models (ICLR 2016)"
FAMILIES = ("Goodfellow et al. 2014 (GAN); Rezende &amp; Mohamed 2015, Durkan et al. 2019 (flows); Uria et al. 2016 "
            "(autoregressive); Kingma &amp; Welling 2014, Burda et al. 2016 (VAE, IWAE); Ho et al. 2020, Song et al. "
            "2021 (diffusion, probability-flow ODE)")

NAMES = {"gan": "a GAN", "flow": "a normalizing flow", "autoregressive": "a 2-D autoregressive model (x₁, then x₂ "
         "given x₁, over bins)", "vae": "a VAE with a 2-D latent", "diffusion": "a diffusion model"}


def _cross_entropy(data: dict) -> list:
    """Each family's test NLL as the data's entropy plus the KL from the data to the model (cross-entropy = H + KL),
    where the data's entropy is known (mixtures); the KL's SE combines both."""
    h = data.get("entropy")
    steps = data.get("steps", {})
    out = [Equation(Term("n", "training steps of the run", float(sum(steps.values())), None, "hq",
                         how="each step trains one family"),
                    tuple(Term(r"n_{\mathrm{" + f + "}}", f"{f}'s steps", float(n), None, f"samples-{f}")
                          for f, n in steps.items()),
                    title="steps = the families' steps")] if steps else []
    for f, sc in sorted(data.get("scores", {}).items()):
        if "nll" not in sc or h is None:
            continue
        h_se = data.get("entropy_se", 0.0)
        bound = sc.get("likelihood") == "bound"
        out.append(Equation(
            Term(r"\mathrm{NLL}_{\mathrm{" + f + "}}", f"{f}'s test NLL" + (" (an upper bound: IWAE)" if bound else ""),
                 sc["nll"], sc.get("nll_se"), f"nll#{f}", how="± SE over the test points"),
            (Term(r"H(p_{\mathrm{data}})", "the data's entropy", h, h_se, "nll", how="Monte Carlo, exact density"),
             Term(r"\mathrm{KL}(p_{\mathrm{data}} \Vert p_{\mathrm{" + f + "}})",
                  "what the model misses" + (" (plus the bound's gap)" if bound else ""), sc["nll"] - h,
                  math.hypot(sc.get("nll_se") or 0.0, h_se), f"nll#{f}", how="the difference")),
            title=f"{f}: NLL = H + KL"))
    return out


def _column(f: str) -> Card:
    return Card(
        f"{f}: samples over the data",
        f"{NAMES.get(f, f)} — the family's own lab — trained on the same data with the same seed as every other "
        "column: 600 samples (coloured) over the data (grey) and its modes (circles). The title says how the "
        "family's likelihood is computed, its steps and its training time.",
        "budget = time: the next step goes to the family that has trained least, its steps counted at its step "
        "time measured when the run started; budget = steps: the same number of steps each.",
        FAMILIES, "Which family covers every mode first, which puts samples between the modes, and which is fastest "
        "to sample — the answers differ: that is the lesson.", live=_cross_entropy)


CARDS = {
    **{f"samples-{f}": _column(f) for f in NAMES},
    "hq": Card(
        "Sample quality over training time",
        "At fixed points of each family's training (every 'every' seconds or hundreds of steps) 2,500 samples are "
        "scored: the share within 3 σ of a mode. The dotted line is the lesson's 80 %.",
        "high quality % = 100 · #{samples within 3 std of their nearest mode} / 2,500; its SE √(p(1−p)/n).",
        PACGAN, "A GAN's samples sit on the modes early but it may lose modes; a flow's and a VAE's spread onto "
        "the bridges between modes.", ),
    "nll": Card(
        "Test NLL over training time",
        "The same 500 held-out points for every family: −mean log p(x) in nats, exact for the flow and the "
        "autoregressive model (binned: log P(bin) − log area), by the probability-flow ODE for the diffusion "
        "model, and an upper bound from the IWAE bound (k = 1,000) for the VAE. The GAN has no likelihood. The "
        "dashed line is the data's own entropy, which no model's NLL can beat on average.",
        "NLL = −(1/n) Σ log p(x<sub>i</sub>), SE = sd/√n over the points.",
        THEIS, "Low NLL and good samples are different goals: a model can win one and lose the other.",
        live=_cross_entropy),
}
