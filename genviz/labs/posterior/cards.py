"""Info cards of the posterior lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term
from genviz.vae import live

LOG_P = r"\log\, p(x)"
QUADRATURE = "2-D quadrature on the grid"


def _numbers(data: dict) -> tuple[dict, dict]:
    n = data.get("numbers") or {}
    return n, n.get("se") or {}


def _bounds(data: dict) -> list:
    n, se = _numbers(data)
    if "log_px" not in n or "elbo_q" not in n:
        return []
    log_p = Term(LOG_P, "log-evidence of x", n["log_px"], None, "bounds", how=QUADRATURE, key="numbers.log_px")
    out = [Equation(log_p, (Term(r"\mathcal{L}[q]", "the encoder's ELBO", n["elbo_q"], se.get("elbo_q"), "bounds",
                                 key="numbers.elbo_q"),
                            Term(r"\mathrm{KL}(q(z|x)\,\|\,p(z|x))", "KL to the true posterior", n["kl_q"], se.get("kl_q"),
                                 "posterior#q")),
                    title="The evidence splits into the ELBO and the KL from q to the true posterior")]
    if "elbo_qstar" in n:
        out.append(Equation(log_p, (
            Term(r"\mathcal{L}[q]", "the encoder's ELBO", n["elbo_q"], se.get("elbo_q"), "bounds", key="numbers.elbo_q"),
            Term(r"\mathcal{L}[q^*]-\mathcal{L}[q]", "amortization gap", n["amortization_gap"],
                 se.get("amortization_gap"), "posterior#q"),
            Term(r"\log p(x)-\mathcal{L}[q^*]", "approximation gap", n["approximation_gap"],
                 se.get("approximation_gap"), "posterior#qstar")),
            title="Cremer et al. (2018): the gap to log p(x) is the amortization gap plus the approximation gap"))
    t = data.get("gap_table")
    if t:
        out.append(Equation(
            Term(r"\overline{\log p(x)-\mathcal{L}[q]}", f"inference gap, mean over {t['points']} test images",
                 t["inference_gap"], t["inference_gap_se"], "bounds", key="gap_table.inference_gap"),
            (Term(r"\overline{\mathcal{L}[q^*]-\mathcal{L}[q]}", "amortization gap", t["amortization_gap"],
                  t["amortization_gap_se"], "bounds", key="gap_table.amortization_gap"),
             Term(r"\overline{\log p(x)-\mathcal{L}[q^*]}", "approximation gap", t["approximation_gap"],
                  t["approximation_gap_se"], "bounds", key="gap_table.approximation_gap")),
            title="Cremer et al.'s table, live: averaged over test images (± SE over the images)"))
    return out


def _iw(k: int):
    def equations(data: dict) -> list:
        n, se = _numbers(data)
        key = f"iwae_{k}" if k > 1 else "iwae_1"
        if "log_px" not in n or key not in n:
            return []
        return [Equation(Term(LOG_P, "log-evidence of x", n["log_px"], None, "bounds", how=QUADRATURE,
                              key="numbers.log_px"),
                         (Term(rf"\mathcal{{L}}_{{{k}}}", f"IWAE bound, k = {k}", n[key], se.get(key), "bounds"),
                          Term(rf"\log p(x)-\mathcal{{L}}_{{{k}}}", "what the bound misses", n["log_px"] - n[key],
                               se.get(key), f"q-iw-k{k}")),
                         title=f"The bound of q_IW with k = {k} (Burda et al. 2016), below the exact log p(x)")]
    return equations


def _curves(data: dict) -> list:
    return [live.neg_elbo(data)]


CREMER = "Cremer, Li &amp; Duvenaud, Inference Suboptimality in Variational Autoencoders (2018)"
IWAE = "Burda, Grosse &amp; Salakhutdinov, Importance Weighted Autoencoders (2016); Cremer et al. (2017) for q<sub>IW</sub>"
CARDS = {
    "posterior": Card(
        "True posterior and its approximations",
        "The exact posterior p(z|x) of the chosen x (its 50/90/99 % highest-density contours), computed by "
        "quadrature on a grid, with the encoder's q(z|x), the best Gaussian q* for this x, and HMC samples. In "
        "purple, the last leapfrog trajectories of two HMC chains: from the chain's point (dot) along the simulated "
        "dynamics to the proposal, accepted (solid) or rejected (dashed).",
        "p(z|x) = p(x|z) p(z) / p(x), with p(x) = &sum;<sub>grid</sub> p(x|z) p(z) &Delta;z (2-D quadrature). HMC: "
        "momentum r ~ N(0, I), H(z, r) = &minus;log p(x, z) + &frac12;|r|&sup2;; leapfrog r &larr; r + &frac12;&epsilon;"
        "&nabla;log p, z &larr; z + &epsilon;r, r &larr; r + &frac12;&epsilon;&nabla;log p (10 steps); accepted with "
        "probability min(1, exp(H<sub>0</sub> &minus; H<sub>1</sub>))",
        f"{CREMER}; Neal, MCMC using Hamiltonian dynamics (2011)",
        "The true posterior is often skewed or banana-shaped; a Gaussian q cannot follow it (the approximation "
        "gap) and the amortized encoder misses even the best Gaussian (the amortization gap)."),
    "bounds": Card(
        "Bounds above L[q]",
        "How far each bound lies above the encoder's ELBO L[q], with its Monte Carlo standard error; the top bar "
        "is the exact log p(x).",
        "log p(x) &ge; L<sub>1000</sub> &ge; L<sub>100</sub> &ge; L<sub>10</sub> &ge; L[q], "
        "L<sub>k</sub> = E[log (1/k) &sum;<sub>i</sub> p(x, z<sub>i</sub>)/q(z<sub>i</sub>|x)]; "
        "L[q*] (best Gaussian) and L[q* full] (full covariance)",
        f"{IWAE}; {CREMER}",
        "log p(x) &minus; L[q*] is the approximation gap, L[q*] &minus; L[q] the amortization gap. The IWAE bounds "
        "climb toward log p(x) as k grows.", live=_bounds),
    "q-iw-k1": Card(
        "q<sub>IW</sub>, k = 1",
        "Samples of the importance-weighted distribution with one sample: q itself.",
        "z ~ q(z|x)", IWAE,
        "Compare its shape with the true posterior: this is what the ELBO optimises.", live=_iw(1)),
    "q-iw-k10": Card(
        "q<sub>IW</sub>, k = 10",
        "Draw 10 samples from q, keep one with probability proportional to its importance weight.",
        "z<sub>1..k</sub> ~ q, pick z<sub>i</sub> with probability w<sub>i</sub> / &sum;w<sub>j</sub>, "
        "w = p(x, z) / q(z|x)", IWAE,
        "Already closer to the true posterior than q: IWAE's bound is the ELBO of this richer distribution.",
        live=_iw(10)),
    "q-iw-k100": Card(
        "q<sub>IW</sub>, k = 100",
        "The importance-weighted distribution with 100 samples.",
        "as for k = 10, with k = 100", IWAE,
        "As k grows q<sub>IW</sub> tends to the true posterior and L<sub>k</sub> to log p(x).", live=_iw(100)),
    "picker": Card(
        "Pick x",
        "The encoder means of the data in the latent space; click one to choose the x whose posterior is shown.",
        "&mu;<sub>&phi;</sub>(x) = E<sub>q(z|x)</sub>[z]", CREMER,
        "Points at the edge of a class often have the most distorted posteriors."),
    "examples": Card(
        "Examples",
        "A few data images to choose x from directly.",
        "&mdash; (the data)", CREMER,
        "Pick an ambiguous image: its true posterior is often two-peaked, which no Gaussian q can match."),
    "curves": Card(
        "Training curve",
        "The negative training objective (ELBO, or IWAE's bound) per step.",
        "&minus;L[q] = E<sub>q</sub>[&minus;log p(x|z)] + KL(q(z|x) &Vert; p(z)), or &minus;L<sub>k</sub> for IWAE",
        IWAE,
        "Training with IWAE's bound gives a decoder whose posterior is harder for a Gaussian q to match.",
        live=_curves),
}
