"""Info cards of the Gibbs-chain lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term


def _free_energy(data: dict) -> list:
    parts = data.get("free_energy_parts")
    if not parts or "free_energy_data" not in data:
        return []
    n = parts["images"]
    how = f"mean over the {n:,} test images"
    out = [Equation(Term(r"\bar F(v)", "mean free energy of the test images", data["free_energy_data"],
                         data.get("free_energy_data_se"), "free-energy#free_energy_data", key="free_energy_data"),
                    (Term(r"-\overline{b^\top v}", "visible biases", parts["visible"], None, "filters", how=how),
                     Term(r"-\overline{\sum_j \log(1+e^{c_j + W_{:,j}^\top v})}", "hidden units", parts["hidden"], None,
                          "hidden-probabilities", how=how)),
                    title=f"F(v) term by term, {how} (± SE: the images are a sample of the test set)")]
    if "free_energy_chains" in data:
        gap = data["free_energy_chains"] - data["free_energy_data"]
        se = (data.get("free_energy_chains_se") or 0.0) ** 2 + (data.get("free_energy_data_se") or 0.0) ** 2
        out.append(Equation(Term(r"\bar F(v_{\mathrm{chains}}) - \bar F(v_{\mathrm{data}})", "the chains above the data",
                                 gap, se ** 0.5, "free-energy#free_energy_chains"),
                            title="Chains with higher free energy than the data are where the model puts too little mass"))
    return out


def _log_likelihood(data: dict) -> list:
    out = []
    if data.get("pseudo_ll") is not None:
        out.append(Equation(Term(r"\log \mathrm{PL}(v)", "pseudo-log-likelihood (one random bit per image)",
                                 data["pseudo_ll"], data.get("pseudo_ll_se"), "log-likelihood#pseudo_ll",
                                 key="pseudo_ll"),
                            title="Besag's pseudo-likelihood on the test images"))
    ais = data.get("ais") or {}
    if "test_ll" in ais and "neg_free_energy" in ais:
        out.append(Equation(
            Term(r"\overline{\log P(v)}", "test log-likelihood (AIS)", ais["test_ll"], ais.get("log_z_se"),
                 "log-likelihood#ais_ll", key="ais.test_ll"),
            (Term(r"-\bar F(v)", "minus the mean free energy", ais["neg_free_energy"], None, "free-energy",
                  how=f"mean over {ais.get('test_images', 0):,} test images"),
             Term(r"\log Z", f"AIS over {ais.get('runs', 0)} runs", ais["log_z"], ais.get("log_z_se"),
                  "log-likelihood#ais_ll", sign=-1)),
            title=f"The AIS run of step {ais.get('step', 0):,} (log Z's standard error by the delta method)"))
    return out


RBM = ("Hinton, Training Products of Experts by Minimizing Contrastive Divergence (2002); Tieleman, Training "
       "RBMs using Approximations to the Likelihood Gradient (2008, PCD); Hinton, A Practical Guide to Training "
       "RBMs (2010)")
AIS = "Salakhutdinov &amp; Murray, On the Quantitative Analysis of Deep Belief Networks (2008)"


def _mixing(data: dict) -> list:
    out = []
    if data.get("decorrelation_steps") is not None:
        out.append(Equation(Term(r"\tau_{0.1}", "Gibbs steps until F(v)'s autocorrelation falls below 0.1",
                                 float(data["decorrelation_steps"]), None, "autocorrelation",
                                 how="read off the chains' own trace")))
    if data.get("class_switch_rate") is not None:
        out.append(Equation(Term(r"r_{\mathrm{switch}}", "share of Gibbs steps where a chain changes class",
                                 data["class_switch_rate"], data.get("class_switch_rate_se"), "chains"),
                            title="± SE over the chains (independent; a chain's steps are not)"))
    return out


CARDS = {
    "chains": Card(
        "Gibbs chains",
        "The current visible state of several Gibbs chains run on the RBM (the persistent chains in PCD).",
        "h ~ P(h|v) = &sigma;(W<sup>T</sup>v + c), v ~ P(v|h) = &sigma;(W h + b), alternately",
        RBM,
        "Early on the chains show noise; as the RBM learns, they turn into digits. PCD chains move between "
        "classes; a chain stuck on one digit shows poor mixing."),
    "film": Card(
        "Chain 1 by half-steps",
        "The first chain's visible and hidden states, one half step at a time, newest on the right.",
        "v<sup>(0)</sup> &rarr; h<sup>(0)</sup> &rarr; v<sup>(1)</sup> &rarr; h<sup>(1)</sup> &rarr; &hellip;",
        RBM,
        "The hidden layer is a binary code of the image; watch how few hidden units change from step to step."),
    "hidden-probabilities": Card(
        "P(h = 1 | v), chain 1",
        "Each hidden unit's probability of being on, given chain 1's visible state.",
        "P(h<sub>j</sub> = 1 | v) = &sigma;(c<sub>j</sub> + &sum;<sub>i</sub> W<sub>ij</sub> v<sub>i</sub>)",
        RBM,
        "Most units are near 0 or 1: the hidden code is nearly deterministic for a clear digit."),
    "filters": Card(
        "Filters",
        "Each hidden unit's weights to the visible pixels, as an image (one column of W).",
        "W<sub>:, j</sub> reshaped to the image size", RBM,
        "Filters turn from noise into strokes and blobs: the parts the RBM combines into digits."),
    "chosen-image": Card(
        "Chosen image",
        "The test image used for the free-energy and reconstruction figures.",
        "&mdash; (the data)", RBM,
        "Compare its reconstruction v &rarr; h &rarr; v with the original."),
    "free-energy": Card(
        "Free energy",
        "The mean free energy of training and of held-out images.",
        "F(v) = &minus;b<sup>T</sup>v &minus; &sum;<sub>j</sub> log(1 + e<sup>c<sub>j</sub> + W<sub>:,j</sub><sup>T</sup>v</sup>), "
        "P(v) = e<sup>&minus;F(v)</sup>/Z",
        RBM,
        "A widening gap between training and held-out free energies is overfitting (Hinton's guide, &sect;6).", live=_free_energy),
    "training": Card(
        "Training",
        "The reconstruction error per step: not the objective, but a cheap signal.",
        "mean squared error between v and its one-step reconstruction E[v | h], h ~ P(h|v)",
        RBM,
        "It can keep falling while the model gets worse: trust the log-likelihood curve."),
    "log-likelihood": Card(
        "Log-likelihood",
        "The average log-likelihood of held-out images, estimated by annealed importance sampling (AIS), with its "
        "standard error.",
        "log P(v) = &minus;F(v) &minus; log Z, log Z estimated by AIS from a base RBM through tempered "
        "intermediate distributions",
        AIS,
        "CD-1 can report good reconstructions with a poor likelihood; PCD usually scores higher.", live=_log_likelihood),
    "autocorrelation": Card(
        "Autocorrelation of F(v)",
        "How quickly the chains forget their state: the autocorrelation of the free energy along a chain.",
        "ACF(&tau;) = Cov(F(v<sub>t</sub>), F(v<sub>t+&tau;</sub>)) / Var F(v<sub>t</sub>)",
        RBM,
        "A slow decay means slow mixing: the chains' samples are far from independent.", live=_mixing),
}
