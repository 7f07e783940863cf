"""Info cards of the flow lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term, grouped


def _change_of_variables(data: dict) -> list:
    """log p(x) = log N(z) + Σ_k log|det J_k⁻¹| on the test points (density mode)."""
    if "test_layer_logdet" not in data:
        return []
    import numpy as np

    lds = np.asarray(data["test_layer_logdet"], dtype=np.float64)
    K, n = len(lds), data.get("test_points", 0)
    how = f"per point, mean over the {n:,} test points"
    # the inverse runs layer K first: lds[i] belongs to layer K - i; the terms go layer 1 to K
    by_layer = lds[::-1]
    layers = grouped(by_layer, [f"layer {k + 1}: log|det| of its inverse" for k in range(K)],
                     [rf"\log|\det J_{{{k + 1}}}^{{-1}}|" for k in range(K)], 4, "log-det-jacobian",
                     (r"\sum_{\mathrm{rest}}\log|\det J_k^{-1}|", "the other {n} layers"), how=how)
    return [Equation(Term(r"\log\, q(x)", "mean log-density of the test points", data["test_logp"], None,
                          "training#test_nll", how=how, key="test_nll"),
                     (Term(r"\log\,\mathcal{N}(z;0,I)", "base density at z = f⁻¹(x)", data["test_base_logp"], None,
                           "warp", how=how), *layers),
                     title=f"The change of variables on the {n:,} test points (its negative is the test NLL)")]


def _reverse_kl(data: dict) -> list:
    if "reverse_kl" not in data or "log_z" not in data:
        return []
    kl, se, log_z = data["reverse_kl"], data.get("reverse_kl_se"), data["log_z"]
    return [Equation(Term(r"\mathrm{KL}(q\,\|\,p)", "reverse KL to the target", kl, se, "training", key="reverse_kl"),
                     (Term(r"\mathbb{E}_q[\log q(x) + U(x)]", f"Monte Carlo over {data.get('reverse_kl_draws', 0):,} "
                           "draws of the flow", kl - log_z, se, "model-density"),
                      Term(r"\log Z", "the target's normaliser", log_z, None, "target", how="quadrature")),
                     title="Energy mode: the reverse KL with log Z by quadrature")]


def _beside(data: dict) -> list:
    if "beside_lead" not in data:
        return []
    return [Equation(Term(r"\Delta\mathrm{NLL}", "the main flow's lead over the one beside it", data["beside_lead"],
                          data["beside_lead_se"], "beside-density", key="beside_lead"),
                     (Term(r"\mathrm{NLL}_{\mathrm{beside}}", "the flow beside it, test NLL", data["beside_test_nll"],
                           data["beside_test_nll_se"], "beside-density", key="beside_test_nll"),
                      Term(r"\mathrm{NLL}_{K}", "the main flow, test NLL", data["test_nll"], data.get("test_nll_se"),
                           "model-density", sign=-1, key="test_nll")),
                     title="On the same 5,000 held-out points; ± SE over the points (the lead paired)")]


def _training(data: dict) -> list:
    return _change_of_variables(data) + _reverse_kl(data)


FLOWS = ("Rezende &amp; Mohamed, Variational Inference with Normalizing Flows (2015: planar flows, U1&ndash;U4); "
         "Durkan et al., Neural Spline Flows (2019); Papamakarios et al., Normalizing Flows for Probabilistic "
         "Modeling and Inference (2021)")
CARDS = {
    "warp": Card(
        "Warp after layer k",
        "A grid and samples of the base Gaussian pushed through the first k layers of the flow (the layer slider).",
        "x = f<sub>k</sub> &#8728; &hellip; &#8728; f<sub>1</sub>(z), z ~ N(0, I)",
        FLOWS,
        "Step through the layers: each bends the grid a little. Where grid cells stretch, density thins; where "
        "they squeeze, it piles up."),
    "model-density": Card(
        "Model density q<sub>k</sub>(x)",
        "The flow's exact density after k layers, on a grid.",
        "log q<sub>k</sub>(x) = log N(z; 0, I) &minus; &sum;<sub>i&le;k</sub> log |det &part;f<sub>i</sub>/&part;z<sub>i-1</sub>|, "
        "z = f<sup>-1</sup>(x) (or, for planar layers, the density carried forward from the base grid)",
        FLOWS,
        "Compare with the target: with too few layers the model cannot split the mass into separate modes and "
        "leaves a bridge between them.", live=_change_of_variables),
    "target": Card(
        "Target",
        "What the flow learns: the data's density (density mode, a histogram of the points) or the unnormalised "
        "target exp(&minus;U(z)) (energy mode).",
        "density mode: minimise E<sub>data</sub>[&minus;log q(x)]; energy mode: minimise KL(q &Vert; e<sup>&minus;U</sup>/Z) "
        "= E<sub>q</sub>[log q(x) + U(x)] + log Z",
        FLOWS,
        "In energy mode the reverse KL is mode-seeking: a flow too weak for U3 or U4 covers one part well and "
        "misses another.", live=_reverse_kl),
    "beside-density": Card(
        "The flow beside it",
        "A flow of the same type with fewer (or more) layers (the setting beside), trained from its own start on the "
        "same minibatches; drawn on the same colour scale as the target and the main flow.",
        "MAF layer: x<sub>i</sub> = z<sub>i</sub> exp(&alpha;<sub>i</sub>) + &mu;<sub>i</sub>, (&mu;<sub>i</sub>, "
        "&alpha;<sub>i</sub>) = MADE(x<sub>&lt;i</sub>): one layer is a Gaussian autoregressive model, p(x<sub>i</sub> | "
        "x<sub>&lt;i</sub>) = N(&mu;<sub>i</sub>, e<sup>2&alpha;<sub>i</sub></sup>)",
        "Papamakarios, Pavlakou &amp; Murray, Masked Autoregressive Flow for Density Estimation (2017), fig. 1; "
        "Germain et al., MADE (2015)",
        "One MADE with Gaussian conditionals cannot make x₂ given x₁ bimodal: on two moons it smears a band across "
        "both. Stacking MADEs (each a change of variables for the next) lets the conditionals take any shape.",
        live=_beside),
    "log-det-jacobian": Card(
        "log |det J| of layer k",
        "How much layer k expands (red) or contracts (blue) space at each point.",
        "log |det &part;f<sub>k</sub>(z)/&part;z|; a planar layer f(z) = z + u h(w&middot;z + b) has "
        "det = 1 + h'(w&middot;z + b) u&middot;w",
        FLOWS,
        "Density is divided by the expansion: red regions of a layer thin the density it passes on.",
        live=_change_of_variables),
    "change-of-variables-1d": Card(
        "Change of variables in 1-D",
        "A one-dimensional map x = f(z) and what it does to a density: the base p<sub>z</sub> on one axis, the "
        "result p<sub>x</sub> on the other.",
        "p<sub>x</sub>(x) = p<sub>z</sub>(z) |dz/dx|, with f(z) = z + a&middot;tanh(2z)",
        FLOWS,
        "Where the curve is steep, mass spreads out and p<sub>x</sub> falls; where it is flat, mass piles up."),
    "training": Card(
        "Training",
        "The objective per step: train and test negative log-likelihood (density mode) or the reverse KL "
        "(energy mode), in nats.",
        "NLL = &minus;(1/N) &sum; log q(x<sub>n</sub>); the data's entropy H(p) bounds the NLL from below",
        FLOWS,
        "The test NLL cannot fall below the data's entropy limit; a gap between train and test curves is overfitting.",
        live=_training),
}
