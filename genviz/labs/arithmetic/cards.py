"""Info cards of the latent-arithmetic lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term
from genviz.vae import live


def _curves(data: dict) -> list:
    return [live.neg_elbo(data)]


WHITE = "White, Sampling Generative Networks (2016): spherical interpolation, attribute vectors, analogies"


def _classes(data: dict) -> list:
    ct = data.get("class_transfer")
    if not ct:
        return []
    return [Equation(Term(r"\hat{P}(\mathrm{reads\ as\ } t)", "moved examples classified as their target",
                          ct["accuracy"], ct["accuracy_se"], "class-analogies", key="class_transfer.accuracy"),
                     title=f"{ct['n']:,} moves (20 examples per class to each other class); chance {ct['chance']:.2f}"),
            Equation(Term(r"P(\mathrm{right\ on\ real})", "the classifier on real held-out digits",
                          ct["classifier_accuracy"], None, "class-analogies", how="a count over the test split"),
                     title="the yardstick")]


KINGMA = "Kingma &amp; Welling, Auto-Encoding Variational Bayes (2014)"
ANALOGY = Card(
    "Analogy", "The four images of the analogy a &minus; b + c: three chosen images and the decoded result.",
    "z = &mu;(a) &minus; &mu;(b) + &mu;(c), shown as E[x | z]", WHITE,
    "If a and b differ in one attribute (size, say), the result is c with that attribute changed. It works only "
    "where the latent space is roughly linear in the attribute.")


def _factors(data: dict) -> list:
    """The best R² of a latent direction for each known factor (exact least squares on the shown points)."""
    if "factor_r2" not in data:
        return []
    import numpy as np

    from genviz.core.cards import Equation, Term

    r2 = np.asarray(data["factor_r2"], dtype=np.float64).reshape(-1)
    names = list(data.get("factor_names", [])) or [f"factor {i}" for i in range(len(r2))]
    return [Equation(Term(rf"R^2_{{\mathrm{{{str(n).replace('_', ' ')}}}}}", f"{n}: the best slider's R²", float(v),
                          None, "factors", how="least squares on the shown points")) for n, v in zip(names, r2)]


CARDS = {
    "decoded": Card(
        "Decoded",
        "The decoder's mean image at the latent point the sliders set.",
        "E[x | z], z = (z<sub>1</sub>, &hellip;, z<sub>d</sub>) from the sliders", KINGMA,
        "Move one slider: the change it makes is what that latent dimension encodes (often several factors at once)."),
    "curves": Card(
        "Training curve", "The negative ELBO of the VAE trained here, per step.",
        "&minus;ELBO = E<sub>q</sub>[&minus;log p(x|z)] + KL(q(z|x) &Vert; p(z))", KINGMA,
        "Train until it flattens before reading the latent space: an untrained decoder gives meaningless arithmetic.",
        live=_curves),
    "examples": Card(
        "Pick from data", "Data images: click one to start from its latent mean, shift-click to add it to the picked set.",
        "z = &mu;<sub>&phi;</sub>(x)", KINGMA,
        "Pick two images that differ in one way: their latent difference is an attribute vector."),
    "factors": Card(
        "Known factors",
        "For data with known generating factors (shapes: size, position, ...), how well each slider's direction "
        "lines up with each factor's direction in latent space.",
        "|cos(d<sub>factor</sub>, e<sub>slider</sub>)|, d<sub>factor</sub> = the mean latent change per unit of the factor",
        "Higgins et al., &beta;-VAE (2017), on disentanglement",
        "A slider that lines up with one factor only is disentangled; a plain VAE usually mixes them.", live=_factors),
    "class-analogies": Card(
        "Class analogies",
        "Labelled data (the digits): each row starts from a data image (left column), encodes it, and moves it by a "
        "class vector to every class: z(x) &minus; z&#772;(its class) + z&#772;(t), decoded. Below, how often the "
        "result reads as class t to a nearest-class-mean classifier on pixels.",
        "z&#772;(c) = mean of &mu;<sub>&phi;</sub>(x) over the shown points of class c; image = E[x | z(x) &minus; "
        "z&#772;(s) + z&#772;(t)]",
        f"{WHITE}; Kingma et al., Semi-supervised learning with deep generative models (2014), fig. 1 (analogies)",
        "Along a row the digit changes, the handwriting (slant, thickness) stays: class and style sit in different "
        "directions of the latent space, although no label was used in training.", live=_classes),
    "walk-linear": Card(
        "Linear walk", "Images decoded along the straight line from a to b in latent space.",
        "z(t) = (1 &minus; t) a + t b, t from 0 to 1", WHITE,
        "Halfway, the line passes close to the origin, where a Gaussian prior puts little mass in many dimensions: "
        "the images blur."),
    "walk-spherical": Card(
        "Spherical walk", "Images decoded along the great circle from a to b.",
        "z(t) = sin((1 &minus; t)&Omega;)/sin &Omega; &middot; a + sin(t&Omega;)/sin &Omega; &middot; b, "
        "cos &Omega; = a&middot;b / (|a||b|)", WHITE,
        "The norm stays typical of the prior all the way, so intermediate images stay sharp."),
    "walk-norm": Card(
        "&Vert;z&Vert; along the walk", "The latent norm along the linear and the spherical walk, with the prior's typical norm.",
        "&Vert;z(t)&Vert;; under N(0, I<sub>d</sub>) the norm concentrates near &radic;d", WHITE,
        "The linear walk dips well below &radic;d in the middle: that is why its images blur."),
    "analogy-a": ANALOGY, "analogy-b": ANALOGY, "analogy-c": ANALOGY, "analogy-result": ANALOGY,
    "attribute-strip": Card(
        "Attribute strip", "A starting image moved along an attribute vector, from &minus;2 to +2 times it.",
        "z + s (A &minus; B), A and B the mean latents of two picked sets, s = &minus;2 &hellip; +2", WHITE,
        "Past s = 1 the images exaggerate the attribute, until the decoder leaves the data's region."),
}
