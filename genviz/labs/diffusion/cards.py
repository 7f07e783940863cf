"""Info cards of the diffusion lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term

SONG = "Song et al., Score-Based Generative Modeling through Stochastic Differential Equations (2021)"
DDPM = "Ho, Jain &amp; Abbeel, Denoising Diffusion Probabilistic Models (2020)"


def _score(data: dict) -> list:
    st = data.get("score_terms")
    if not st:
        return []
    eps = r"\epsilon"
    return [Equation(
        Term(rf"\mathbb{{E}}\,|{eps}_\theta - {eps}|^2", "denoising loss at this t", st["loss"], st["loss_se"], "per-t"),
        (Term(rf"\mathbb{{E}}\,|{eps}_\theta - {eps}^*|^2", "score error b(t)²|s<sub>θ</sub> − ∇log p<sub>t</sub>|²", st["score_error"],
              st["score_error_se"], "score-field", key="score_terms.score_error"),
         Term(rf"\mathbb{{E}}\,|{eps}^* - {eps}|^2", "irreducible: ε cannot be known from x<sub>t</sub>", st["irreducible"],
              st["irreducible_se"], "per-t"),
         Term(rf"2\,\mathbb{{E}}\,({eps}_\theta - {eps}^*)\cdot({eps}^* - {eps})", "cross term (its mean is 0)",
              st["cross"], st["cross_se"], "per-t")),
        title=f"At t = {st['t']:.2f} (the slider), {st['n']} draws of x₀ and ε; ε<sub>θ</sub> = −b(t) s<sub>θ</sub>, "
              "ε* = −b(t) ∇log p<sub>t</sub> = E[ε | x<sub>t</sub>] exactly")]


def _curves(data: dict) -> list:
    if data.get("test_nll") is None or data.get("test_nll_step", 0) <= 0:
        return []
    return [Equation(Term(r"-\overline{\log p_\theta(x)}", "test NLL by the probability-flow ODE", data["test_nll"],
                          data.get("test_nll_se"), "curves", key="test_nll"),
                     title=f"Measured at step {data['test_nll_step']:,} (the ODE's exact change of variables, "
                           "the exact trace of the 2×2 Jacobian)")]


def _samples(data: dict) -> list:
    if data.get("hq_percent") is None:
        return []
    return [Equation(Term(r"\mathrm{HQ}", "high-quality samples, %", data["hq_percent"], data.get("hq_percent_se"),
                          "samples"), title=f"Modes covered: {data.get('modes', 0)} of {data.get('n_modes', 0)}")]


def _paths(data: dict) -> list:
    if data.get("path_ratio") is None:
        return []
    return [Equation(Term(r"\overline{L/|x_0 - x_1|}", "ODE path length over displacement (1 = straight)",
                          data["path_ratio"], data.get("path_ratio_se"), "paths"),
                     title="How straight the probability-flow ODE's paths are, over the drawn paths")]


CARDS = {
    "samples": Card(
        "Samples",
        "Points drawn by the chosen sampler from noise at t = 1 down to t &asymp; 0, over the data (grey); green "
        "circles mark the modes of a mixture.",
        "x<sub>1</sub> ~ N(0, b(1)<sup>2</sup>I), then the sampler's steps; the last step returns Tweedie's "
        "E[x<sub>0</sub> | x<sub>t</sub>] = (x<sub>t</sub> &minus; b(t) &epsilon;<sub>&theta;</sub>) / a(t)",
        f"{DDPM}; {SONG}",
        "Too few steps blur the samples between modes; the readout scores them by the GAN lab's coverage protocol.", live=_samples),
    "score-field": Card(
        "Score at t",
        "The learned score (red arrows) over the exact one (black) and the exact density of the noised data at "
        "time t (the slider).",
        "s<sub>&theta;</sub>(x, t) = &minus;&epsilon;<sub>&theta;</sub>(x, t) / b(t); exact: &nabla;log p<sub>t</sub>(x), "
        "p<sub>t</sub> = &sum;<sub>k</sub> w<sub>k</sub> N(a(t)&mu;<sub>k</sub>, (a(t)<sup>2</sup>s<sup>2</sup> + b(t)<sup>2</sup>)I)",
        SONG,
        "At large t the field points to the centre; at small t to each mode. Far from the data the learned arrows "
        "are wrong: no training points were noised there.", live=_score),
    "paths": Card(
        "Paths",
        "Reverse trajectories from the same starting noise: the reverse SDE (orange) and the probability-flow ODE (blue).",
        "SDE: dx = [f x &minus; g<sup>2</sup> s<sub>&theta;</sub>] dt + g dW&#772;; ODE: dx/dt = f x &minus; "
        "&frac12; g<sup>2</sup> s<sub>&theta;</sub>",
        SONG,
        "Both end on the data; the ODE's paths are smooth and deterministic, the SDE's wander. Flow matching's "
        "ODE paths are the straightest (the readout's path ratio).", live=_paths),
    "per-t": Card(
        "Loss and score error per t",
        "The training loss and the error of the learned score against the exact one, in bins of t.",
        "loss = E&Vert;&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t) &minus; &epsilon;&Vert;<sup>2</sup>; "
        "error = b(t)<sup>2</sup> E&Vert;s<sub>&theta;</sub> &minus; &nabla;log p<sub>t</sub>&Vert;<sup>2</sup>",
        DDPM,
        "The loss stays above 0 even for a perfect model (its irreducible part); the score error goes to 0. "
        "Small t is hardest.", live=_score),
    "curves": Card(
        "Training loss", "The denoising loss per step (noise prediction, or velocity for flow matching).",
        "E<sub>t, x<sub>0</sub>, &epsilon;</sub> &Vert;&epsilon;<sub>&theta;</sub>(a(t)x<sub>0</sub> + b(t)&epsilon;, t) "
        "&minus; &epsilon;&Vert;<sup>2</sup>",
        f"{DDPM}; Lipman et al., Flow Matching (2023)",
        "It flattens at a positive value: the noise cannot be predicted exactly from x<sub>t</sub>.", live=_curves),
}
