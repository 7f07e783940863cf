"""Info cards of the latent-manifold lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term
from genviz.vae import live


def _curves(data: dict) -> list:
    return [live.neg_elbo(data)]


def _kl(data: dict) -> list:
    if "kl_dims" not in data:
        return []
    return [live.kl_split(data["kl_dims"], "kl-per-dimension", f"the {len(data.get('points', ())):,} points shown")]


def _latent(data: dict) -> list:
    if "au_var" not in data:
        return []
    import numpy as np

    var = np.asarray(data["au_var"], dtype=np.float64)
    return [Equation(Term(r"A_u", "active units", float(data["active_units"]), None, "kl-per-dimension",
                          how="a count over the dimensions"),
                     tuple(Term(rf"\mathbb{{1}}[\mathrm{{Var}}_x\,\mu_{{{j}}} > 0.01]",
                                f"dimension {j}: Var = {var[j]:.3g}", float(var[j] > 0.01), None,
                                f"kl-per-dimension#{j}") for j in range(len(var)))[:8]
                     if len(var) <= 8 else (),
                     title="Burda et al. (2016): a dimension is active when its encoder mean varies with x")]


def _with_aggregate(data: dict) -> list:
    agg = data.get("aggregate")
    if not agg:
        return _latent(data)
    return _latent(data) + [Equation(
        Term(r"\mathbb{E}_x\,\mathrm{KL}(q(z|x)\,\|\,p(z))", "the ELBO's KL term, mean over the points",
             agg["mean_kl"], agg.get("mean_kl_se"), "kl-per-dimension"),
        (Term(r"I_q[x;z]", f"mutual information (at most log {agg['points']})", agg["mutual_info"], agg["mutual_info_se"],
              "latent-means", key="aggregate.mutual_info"),
         Term(r"\mathrm{KL}(q(z)\,\|\,p(z))", "the aggregate posterior's distance from the prior",
              agg["marginal_kl"], agg["marginal_kl_se"], "latent-means", key="aggregate.marginal_kl")),
        title="ELBO surgery (Hoffman and Johnson 2016): the KL term = information about x + the prior's misfit; "
              f"{agg['draws']:,} draws of q(z) over {agg['points']} points (closed form of the KL term: "
              f"{agg.get('mean_kl_exact', float('nan')):.3f})")]


KINGMA = "Kingma &amp; Welling, Auto-Encoding Variational Bayes (2014), fig. 4 for the manifold"
CARDS = {
    "manifold": Card(
        "Decoded manifold",
        "The decoder's mean image at every point of a grid in the 2-D latent space. The grid is evenly spaced in "
        "probability, not in z: each axis runs through quantiles of the standard normal prior.",
        "image at grid point (u<sub>1</sub>, u<sub>2</sub>) = E[x | z], z = (&Phi;<sup>-1</sup>(u<sub>1</sub>), "
        "&Phi;<sup>-1</sup>(u<sub>2</sub>)), u on an even grid in (0, 1)",
        KINGMA,
        "Early on every cell shows the same blurry average digit; as training goes on the classes spread out "
        "and morph smoothly into one another. Regions the encoder never uses decode to ambiguous shapes."),
    "latent-means": Card(
        "Latent space: encoder means",
        "Each test point placed at the mean of its approximate posterior q(z|x), coloured by its class. The circle "
        "is the prior's 2&sigma; contour.",
        "&mu;<sub>&phi;</sub>(x) = E<sub>q(z|x)</sub>[z], with q(z|x) = N(&mu;<sub>&phi;</sub>(x), "
        "diag &sigma;<sub>&phi;</sub><sup>2</sup>(x))",
        KINGMA,
        "Classes separate into regions although no label is used in training. The KL term pulls the cloud "
        "toward the prior; with a larger &beta; it fills the circle and the classes overlap more. With the setting "
        "aggregate, the shading is the aggregate posterior q(z) = (1/N) &sum;<sub>n</sub> q(z|x<sub>n</sub>): where "
        "the prior has mass and q(z) has none, samples from the prior decode to images no x encodes to.",
        live=_with_aggregate),
    "kl-per-dimension": Card(
        "KL per latent dimension",
        "How many nats each latent dimension carries about x, averaged over the data.",
        "KL<sub>j</sub> = E<sub>x</sub>[&frac12;(&mu;<sub>j</sub><sup>2</sup> + &sigma;<sub>j</sub><sup>2</sup> "
        "&minus; log &sigma;<sub>j</sub><sup>2</sup> &minus; 1)], the closed-form KL(q(z<sub>j</sub>|x) &Vert; N(0, 1))",
        "Burda et al., Importance Weighted Autoencoders (2016), on active units; Higgins et al., &beta;-VAE (2017)",
        "A dimension near 0 nats is inactive (posterior collapse for that unit): the decoder ignores it.",
        live=_kl),
    "curves": Card(
        "Training curves",
        "The training objective over steps: the negative ELBO and its two parts.",
        "&minus;ELBO = E<sub>q(z|x)</sub>[&minus;log p(x|z)] + &beta;&middot;KL(q(z|x) &Vert; p(z)), "
        "reconstruction estimated with one sample z = &mu; + &sigma;&epsilon;",
        KINGMA,
        "The reconstruction term falls while the KL term first rises: the encoder starts to use the latent space.",
        live=_curves),
    "decoded-at-click": Card(
        "Decoded at the clicked z",
        "The decoder's mean image at the latent point you clicked in the latent space.",
        "E[x | z] = decoder(z)",
        KINGMA,
        "Click between two classes: the image morphs. Click far outside the prior's circle: the decoder has "
        "never been trained there and shows it."),
    "nearest-example": Card(
        "Nearest training example",
        "The training image whose encoder mean lies nearest the clicked point.",
        "argmin<sub>x</sub> &Vert;&mu;<sub>&phi;</sub>(x) &minus; z&Vert;",
        KINGMA,
        "Compare it with the decoded image: a close match means the decoder reproduces what the encoder put "
        "there; a blurrier decoded image shows the Gaussian likelihood's averaging."),
}
