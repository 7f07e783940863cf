"""Info cards of the Boltzmann-machine lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term

AHS = ("Ackley, Hinton &amp; Sejnowski, A learning algorithm for Boltzmann machines (1985); Hinton &amp; Sejnowski "
       "(1986), in Parallel Distributed Processing vol. 1, ch. 7")
HOT = "Hinton, Osindero &amp; Teh, A fast learning algorithm for deep belief nets (2006), &sect;4 and eq. 10"
BARS = "bars and stripes: MacKay, Information Theory, Inference, and Learning Algorithms (2003), ch. 43"
ENUM = "exact, by enumerating every state"


def _bm(data: dict) -> list:
    if "kl" not in data:
        return []
    n = len(data["p_patterns"])
    return [Equation(Term(r"\mathrm{KL}(p_{\mathrm{data}}\,\|\,p_\theta)", "the model's distance from the data",
                          data["kl"], None, "bm-curves#kl", how=ENUM, key="kl"),
                     (Term(r"-\mathbb{E}_{\mathrm{data}}\log p_\theta(v)", "cross-entropy of the patterns",
                           data["cross_entropy"], None, "bm-distribution", how=ENUM, key="cross_entropy"),
                      Term(rf"\log {n}", "the data's entropy (P equally likely patterns)", data["entropy"], None,
                           "bm-distribution", sign=-1, how="closed form")),
                     title="KL = cross-entropy − entropy"),
            Equation(Term(r"\sum_{v\in\mathrm{data}} p_\theta(v)", "mass on the patterns", data["data_mass"], None,
                          "bm-distribution", how=ENUM, key="data_mass")),
            Equation(Term(r"\log Z", "the partition function", data["log_z"], None, "bm-weights", how=ENUM,
                          key="log_z"))]


def _dbn(data: dict) -> list:
    if "kl_rbm" not in data:
        return []
    first = Equation(Term(r"\mathrm{KL}_{\mathrm{RBM}}", "the first RBM alone", data["kl_rbm"], None,
                          "dbn-curves#kl_rbm", how=ENUM, key="kl_rbm"), title="Layer 1")
    if "kl_dbn" not in data:
        return [first]
    return [Equation(Term(r"\mathrm{KL}_{\mathrm{RBM}}", "the first RBM alone", data["kl_rbm"], None,
                          "dbn-curves#kl_rbm", how=ENUM, key="kl_rbm"),
                     (Term(r"\mathrm{KL}_{\mathrm{DBN}}", "the DBN", data["kl_dbn"], None, "dbn-curves#kl_dbn", how=ENUM,
                           key="kl_dbn"),
                      Term(r"\Delta", "what the second layer gained", data["dbn_gain"], None, "dbn-distribution",
                           how=ENUM, key="dbn_gain")),
                     title="The second layer's gain"),
            Equation(Term(r"\mathrm{KL}_{\mathrm{bound}}", "the bound's KL: −E log-bound − entropy", data["kl_bound"],
                          None, "dbn-curves#kl_bound", how=ENUM, key="kl_bound"),
                     (Term(r"\mathrm{KL}_{\mathrm{DBN}}", "the DBN", data["kl_dbn"], None, "dbn-curves#kl_dbn",
                           how=ENUM),
                      Term(r"\mathbb{E}\,\mathrm{KL}(q(h_1|v)\,\|\,p(h_1|v))", "the bound's gap", data["gap"], None,
                           "dbn-curves#kl_bound", how=ENUM, key="gap")),
                     title="log p(v) = bound + KL(q ‖ posterior)")]


_BM_WHAT = ("Every state of the model is enumerated, so these numbers are exact: the same numbers a Monte Carlo "
            "estimate (AIS) approximates for a large model.")

CARDS = {
    "bm-weights": Card(
        "A general Boltzmann machine's weights",
        "The symmetric weight matrix W of all units, visible first, then hidden; the lines split it into the "
        "visible–visible, visible–hidden and hidden–hidden blocks. An RBM (connect = restricted) has only the "
        "off-diagonal blocks; a general BM has all of them, so p(h | v) no longer factorizes.",
        "E(s) = &minus;&frac12; s<sup>T</sup>W s &minus; b<sup>T</sup>s, p(s) = e<sup>&minus;E(s)</sup>/Z, "
        "W symmetric with W<sub>ii</sub> = 0. " + _BM_WHAT,
        AHS, "Hidden units that pair up with a bar or a stripe; visible–visible weights that tie a row's (or a "
        "column's) pixels together directly.", live=_bm),
    "bm-distribution": Card(
        "p(v) on each pattern, exact",
        "One bar per bars-and-stripes pattern (its picture under it): the model's exact probability of that image, "
        "summed over every hidden state; the last bar is every other image together. The dashed line is the data's "
        "own probability 1/P.",
        "p<sub>&theta;</sub>(v) = &Sigma;<sub>h</sub> e<sup>&minus;E(v,h)</sup> / Z; KL(p<sub>data</sub> &Vert; "
        "p<sub>&theta;</sub>) = &minus;log P &minus; (1/P) &Sigma;<sub>v&isin;data</sub> log p<sub>&theta;</sub>(v). "
        + BARS + ".",
        AHS, "Learning is the Boltzmann rule &Delta;W<sub>ij</sub> &prop; &lang;s<sub>i</sub>s<sub>j</sub>&rang;"
        "<sub>data</sub> &minus; &lang;s<sub>i</sub>s<sub>j</sub>&rang;<sub>model</sub>: the bars rise to the line "
        "and the grey bar falls. With gradient = gibbs both averages are sampled (the positive phase too, because "
        "hidden units talk to each other), so the KL jitters; gradient = exact removes the noise.", live=_bm),
    "bm-chains": Card(
        "Fantasy particles",
        "The visible units of the persistent chains of the negative phase: each step runs one Gibbs sweep of every "
        "unit in turn, and their statistics are the model's half of the learning rule.",
        "s<sub>i</sub> ~ Bernoulli(&sigma;(&Sigma;<sub>j</sub> W<sub>ij</sub> s<sub>j</sub> + b<sub>i</sub>)), unit by "
        "unit (persistent chains: Tieleman 2008).",
        AHS, "Noise at first, then bars and stripes; the readout counts the share of chains on a data pattern now, "
        "with its standard error over the chains.", live=_bm),
    "bm-curves": Card(
        "The exact KL over training",
        "KL(p<sub>data</sub> &Vert; p<sub>&theta;</sub>) after every update, exact by enumeration.",
        "&minus;log P &minus; (1/P) &Sigma; log p<sub>&theta;</sub>(v), with log Z summed over all 2<sup>V+H</sup> "
        "states.", AHS, "Compare connect = full with restricted at the same units: the general BM learns the "
        "patterns sooner; compare gradient = gibbs with exact: the sampled rule's noise.", live=_bm),
    "dbn-filters": Card(
        "The first RBM's filters",
        "Each hidden unit's weights to the pixels, each scaled to its own range (black low, white high).",
        "W<sub>1</sub>[:, j] reshaped to the image; p(h<sub>1j</sub> = 1 | v) = &sigma;(c<sub>j</sub> + "
        "W<sub>1</sub>[:, j]<sup>T</sup>v).",
        HOT, "Bars and stripes detectors. They freeze when the second layer starts: greedy training never revisits "
        "a layer.", live=_dbn),
    "dbn-distribution": Card(
        "p(v): one RBM against the DBN",
        "Each pattern's exact probability under the first RBM alone (blue) and under the two-layer DBN (orange, "
        "once the second layer trains); the last bars are every other image.",
        "DBN: p(v) = &Sigma;<sub>h<sub>1</sub></sub> p(v | h<sub>1</sub>) p<sub>top</sub>(h<sub>1</sub>), "
        "p(v | h<sub>1</sub>) the first RBM's factorial conditional, p<sub>top</sub> the second RBM's marginal over "
        "h<sub>1</sub>, summed over all 2<sup>H<sub>1</sub></sup> states. " + BARS + ".",
        HOT, "With top_init = transpose the orange bars start equal to the blue (the second RBM is the first upside "
        "down, so it models h<sub>1</sub> exactly as the first did); training it raises them towards the line.",
        live=_dbn),
    "dbn-samples": Card(
        "Samples",
        "Layer 1: the first RBM's persistent chains. Layer 2: the DBN's samples: the top RBM's persistent chains "
        "over h<sub>1</sub>, then one top-down pass, drawn as p(v | h<sub>1</sub>).",
        "h<sub>1</sub> ~ Gibbs chain of the top RBM; v ~ p(v | h<sub>1</sub>) = &sigma;(b + W<sub>1</sub> "
        "h<sub>1</sub>).",
        HOT, "Samples that are bars or stripes more often once the second layer trains.", live=_dbn),
    "dbn-curves": Card(
        "Greedy layer-wise training, exact",
        "The exact KL of the first RBM (it stops changing when it is frozen), of the DBN and of its variational "
        "bound, after every step.",
        "log p(v) &ge; &Sigma;<sub>h<sub>1</sub></sub> q(h<sub>1</sub>|v) [log p<sub>top</sub>(h<sub>1</sub>) + "
        "log p(v|h<sub>1</sub>) &minus; log q(h<sub>1</sub>|v)], q = the frozen first RBM's posterior; the gap is "
        "E KL(q &Vert; p(h<sub>1</sub>|v)).",
        HOT, "Hinton, Osindero &amp; Teh's guarantee: training the second layer (from the transposed start) raises "
        "the bound, so the dashed curve falls below where the first RBM stopped; the DBN's own KL follows it.",
        live=_dbn),
}
