"""Info cards of the variational-inference lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term

BISHOP = "Bishop, Pattern Recognition and Machine Learning (2006), &sect;10.1 and &sect;9.4"
BLEI = "Blei, Kucukelbir &amp; McAuliffe, Variational Inference: A Review for Statisticians (2017), &sect;3"
KL = ("KL(q &Vert; p) = &int; q log(q/p) (reverse), KL(p &Vert; q) = &int; p log(p/q) (forward), by quadrature on "
      "a 128&times;128 grid over the box that holds both densities (each part &plusmn; 6 std)")
QUAD = "quadrature on the grid"


def _kl(data: dict) -> list:
    rev, fwd = data.get("rev_fit"), data.get("fwd_fit")
    if not rev or not fwd:
        return []
    return [Equation(Term(r"\mathrm{KL}(q_{\mathrm{rev}}\,\|\,p)", "the reverse fit's own objective", rev["kl_qp"], None,
                          "kl-curves#kl_reverse_fit", how=QUAD, key="rev_fit.kl_qp"),
                     title="Reverse fit (mode-seeking)"),
            Equation(Term(r"\mathrm{KL}(p\,\|\,q_{\mathrm{rev}})", "the reverse fit in the other direction", rev["kl_pq"],
                          None, "kl-fits", how=QUAD, key="rev_fit.kl_pq")),
            Equation(Term(r"\mathrm{KL}(p\,\|\,q_{\mathrm{fwd}})", "the forward fit's own objective", fwd["kl_pq"], None,
                          "kl-curves#kl_forward_fit", how=QUAD, key="fwd_fit.kl_pq"),
                     title="Forward fit (mass-covering)"),
            Equation(Term(r"\mathrm{KL}(q_{\mathrm{fwd}}\,\|\,p)", "the forward fit in the other direction", fwd["kl_qp"],
                          None, "kl-fits", how=QUAD, key="fwd_fit.kl_qp"))]


def _em(data: dict) -> list:
    if "log_px" not in data or "bound" not in data or "theta" not in data:
        return []
    return [Equation(Term(r"\log p(x;\theta_t)", "log-evidence", data["log_px"], None, "em-curves#log_px",
                          how="exact (enumerating z)"),
                     (Term(r"\mathcal{L}(q;\theta_t)", "the bound", data["bound"], None, "em-curves#bound", how="exact"),
                      Term(r"\mathrm{KL}(q\,\|\,p(z|x;\theta_t))", "the gap", data.get("gap", data["log_px"] - data["bound"]),
                           None, "em-bound", how="exact", key="gap")),
                     title=f"θ = {data['theta']:.4f}; the E step sets the gap to 0, the M step raises the bound")]


def _cavi(data: dict) -> list:
    if "elbo" not in data or "m" not in data:
        return []
    return [Equation(Term(r"\mathcal{L}(q)", "CAVI's ELBO", data["elbo"], None, "cavi-curves#elbo",
                          how="closed form (Blei et al. 2017)", key="elbo"), title="It must never fall from one update to the next")]


def _meanfield(data: dict) -> list:
    if "kl_reverse" not in data or "rev_fit_kl_pq" not in data:
        return []
    return [Equation(Term(r"\mathrm{KL}(q\,\|\,p)", "the factorised q's reverse KL", data["kl_reverse"], None,
                          "meanfield-curves#kl_reverse", how="closed form (Gaussians)", key="kl_reverse"),
                     title="Coordinate ascent lowers it with every factor's update"),
            Equation(Term(r"\mathrm{KL}(p\,\|\,q)", "the same q in the forward direction", data["rev_fit_kl_pq"], None,
                          "meanfield", how="closed form")),
            Equation(Term(r"\mathrm{Var}_q / \mathrm{Var}_p", "the variance q keeps", data.get("var_ratio", float("nan")),
                          None, "meanfield", how="closed form"),
                     title="Mean-field under-estimates the variance of a correlated p")]


def _em_data(data: dict) -> list:
    if "theta" not in data or "log_px" not in data:
        return []
    return [Equation(Term(r"\theta_t", "the estimated cluster position", float(data["theta"]), None, "em-data",
                          how="the M step's closed form"))]


def _purity(key: str, name: str, view: str):
    def equations(data: dict) -> list:
        if data.get(key) is None:
            return []
        return [Equation(Term(r"\mathrm{purity}", f"{name}: points in a cluster of their own true class",
                              float(data[key]), None, view, how="a count over the points"))]
    return equations


CARDS = {
    "kl-fits": Card(
        "Reverse and forward KL fits",
        "The target p (heat) and the 2&sigma; ellipses of the best Gaussian (or mixture) under each KL.",
        KL, BISHOP,
        "Reverse KL seeks one mode and is too narrow; forward KL covers all of p and puts mass between modes.", live=_kl),
    "kl-question": Card(
        "Which Gaussian is closer?",
        "Two candidate Gaussians A and B over p: which one is closer depends on which KL you ask.",
        KL, BISHOP,
        "Answer with the buttons, then read both KLs: each direction prefers a different one."),
    "kl-curves": Card(
        "KL of each fit", "The exact KL of each fit during gradient descent.", KL, BISHOP,
        "Each fit lowers its own KL; it may raise the other direction's.", live=_kl),
    "em-data": Card(
        "Data and the model", "The data and the current mixture p(x; &theta;) = &frac12;N(&theta;, 1) + &frac12;N(&minus;&theta;, 1).",
        "p(x; &theta;) = &frac12;N(x; &theta;, 1) + &frac12;N(x; &minus;&theta;, 1)", BISHOP,
        "&theta; moves out to the two clusters step by step.", live=_em_data),
    "em-bound": Card(
        "log p(x; &theta;) and the bound",
        "The log-likelihood as a function of &theta; (black) and the lower bound for the current q (blue); the gap "
        "at &theta;<sub>t</sub> (red).",
        "log p(x; &theta;) = L(q; &theta;) + KL(q &Vert; p(c | x; &theta;)); E step: q = p(c | x; &theta;<sub>t</sub>) "
        "closes the gap; M step: &theta; = argmax L(q; &theta;)",
        BISHOP,
        "After each E step the bound touches log p at &theta;<sub>t</sub>; the M step climbs the bound, so log p never falls.", live=_em),
    "em-curves": Card(
        "EM curves", "log p(x; &theta;<sub>t</sub>) and the bound after each half step.",
        "as in the bound view, one E or M half step per training step", BISHOP,
        "log p(x; &theta;<sub>t</sub>) never falls; with a restricted q a gap remains.", live=_em),
    "cavi": Card(
        "CAVI on a mixture of Gaussians",
        "Points coloured by q(c<sub>i</sub>), the responsibilities, and the 2&sigma; ellipses of q(&mu;<sub>k</sub>).",
        "q(c<sub>i</sub> = k) &prop; exp(E[&mu;<sub>k</sub>]&middot;x<sub>i</sub> &minus; &frac12;E[&mu;<sub>k</sub><sup>T</sup>&mu;<sub>k</sub>]); "
        "q(&mu;<sub>k</sub>) = N(m<sub>k</sub>, s<sub>k</sub><sup>2</sup>I), m<sub>k</sub> = &sum;<sub>i</sub> &phi;<sub>ik</sub>x<sub>i</sub> / "
        "(1/&sigma;<sup>2</sup> + &sum;<sub>i</sub> &phi;<sub>ik</sub>)",
        BLEI,
        "The ELBO rises with every update and never falls; a poor start can end in a local optimum with merged clusters.", live=_cavi),
    "cavi-curves": Card(
        "Objectives", "The exact ELBO after every CAVI update, beside Gibbs and MAP-EM from the same start.",
        "ELBO = E<sub>q</sub>[log p(x, c, &mu;)] &minus; E<sub>q</sub>[log q(c, &mu;)], in closed form", BLEI,
        "A falling ELBO would be a bug: the test checks it over random data sets.", live=_cavi),
    "gibbs": Card(
        "Gibbs sampling", "The same model sampled by Gibbs: sampled assignments c and means &mu;.",
        "c<sub>i</sub> ~ p(c<sub>i</sub> | x, &mu;), &mu;<sub>k</sub> ~ p(&mu;<sub>k</sub> | x, c)", BLEI,
        "Gibbs samples jump around the answer CAVI converges to.", live=_purity("gibbs_purity", "Gibbs", "gibbs")),
    "map-em": Card(
        "MAP-EM", "The same model fitted by EM for the MAP means: hard colours by responsibility.",
        "E: responsibilities r<sub>ik</sub>; M: &mu;<sub>k</sub> = &sum;<sub>i</sub> r<sub>ik</sub>x<sub>i</sub> / "
        "(1/&sigma;<sup>2</sup> + &sum;<sub>i</sub> r<sub>ik</sub>)", BISHOP,
        "It finds the same centres as CAVI but keeps no uncertainty about them.", live=_purity("em_purity", "MAP-EM", "map-em")),
    "meanfield": Card(
        "Mean field on a correlated Gaussian",
        "p, a correlated 2-D Gaussian (1&sigma; and 2&sigma;), and the factorised q = q<sub>1</sub>q<sub>2</sub> fitted "
        "by reverse KL (red) and forward KL (blue).",
        "reverse: q<sub>j</sub> = N(&mu;<sub>j</sub>, 1/&Lambda;<sub>jj</sub>); forward: q<sub>j</sub> = the marginal "
        "N(&mu;<sub>j</sub>, &Sigma;<sub>jj</sub>)", "Bishop (2006), &sect;10.1.2, figure 10.2",
        "Reverse-KL mean field underestimates the variance (1 &minus; &rho;<sup>2</sup> = 0.19 of it here); coordinate "
        "ascent zig-zags to the mean.", live=_meanfield),
    "meanfield-curves": Card(
        "Coordinate ascent", "KL(q &Vert; p) after each factor's update.",
        "KL between Gaussians in closed form", "Bishop (2006), &sect;10.1.2",
        "Each update can only lower the KL; with strong correlation the zig-zag is slow.", live=_meanfield),
}
