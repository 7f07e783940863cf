"""Info cards of the 2-D VAE lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term

KW = "Kingma &amp; Welling, Auto-encoding variational Bayes (ICLR 2014)"
IWAE = "Burda, Grosse &amp; Salakhutdinov, Importance weighted autoencoders (ICLR 2016)"
WARM = ("Bowman et al., Generating sentences from a continuous space (CoNLL 2016); S&oslash;nderby et al., Ladder "
        "variational autoencoders (NeurIPS 2016): the KL warm-up")


def _bounds(data: dict) -> list:
    if "test_iwae" not in data:
        return []
    return [Equation(Term(r"\mathcal{L}_{100}", "test IWAE bound, k = 100 (nats per point)", data["test_iwae"],
                          data["test_iwae_se"], "bounds#iwae", how="± SE over the test points", key="test_iwae"),
                     (Term(r"\mathcal{L}_{1}", "test ELBO (k = 1)", data["test_elbo"], data["test_elbo_se"],
                           "bounds#elbo", how="± SE over the same points", key="test_elbo"),
                      Term(r"\mathcal{L}_{100} - \mathcal{L}_1", "what 100 samples gain over one",
                           data["iwae_gain"], data["iwae_gain_se"], "bounds", how="paired over the points",
                           key="iwae_gain")),
                     title="IWAE bound = ELBO + the gain of k samples")]


CARDS = {
    "samples": Card(
        "Samples of the VAE",
        "800 ancestral samples (orange) over the data (grey): z ~ N(0, I), then x ~ p(x|z). The same latent and "
        "noise draws at every snapshot, so each dot moves as the decoder learns.",
        "p(z) = N(0, I), p(x|z) = N(m(z), diag s(z)&sup2;); m and s: a two-hidden-layer tanh network of z.",
        KW, "Before the warm-up ends the samples are one blob; then the decoder maps regions of z onto the modes. "
        "Samples left on bridges between modes are where the decoder's map folds across them.", live=_bounds),
    "density": Card(
        "The model's log density, by the IWAE bound",
        "The IWAE bound with k = 16 at each grid point, on a log scale (the colours span the 12 nats below the "
        "peak): the VAE's density p(x) = &int; p(x|z) p(z) dz has no "
        "closed form, and this is a lower bound on it in expectation (the checks compare it with the exact "
        "integral by quadrature over the 2-D latent).",
        "log p(x) &ge; E log (1/k) &Sigma;<sub>i</sub> p(x, z<sub>i</sub>) / q(z<sub>i</sub>|x), z<sub>i</sub> ~ "
        "q(z|x); equality as k &rarr; &infin;.",
        IWAE, "Mass on the bridges between modes is the Gaussian decoder's blur: a VAE pays for every fold of its "
        "map from z to x.", live=_bounds),
    "latent": Card(
        "The test points in latent space",
        "The encoder's mean &mu;(x) of each of 500 test points, coloured by its nearest mode, over circles of "
        "radius 1, 2 and 3 of the prior N(0, I).",
        "q(z|x) = N(&mu;(x), diag &sigma;(x)&sup2;); the ELBO's KL term pulls q towards N(0, I).",
        KW, "The modes claim regions of the prior's disc; points of one mode that sit far apart in z mean the "
        "decoder maps several regions onto it.", live=_bounds),
    "bounds": Card(
        "The bounds during training",
        "The training minibatch's ELBO (or IWAE bound with the setting's k) at each step, and on 500 held-out points "
        "the ELBO and the IWAE bound with k = 100 (± SE), against the data's own entropy where it is known (no "
        "model's log p can be above &minus;H on average).",
        "ELBO = E<sub>q</sub> log p(x|z) &minus; KL(q(z|x) &Vert; p(z)) = log p(x) &minus; KL(q(z|x) &Vert; p(z|x)).",
        IWAE + "; " + WARM,
        "The gap between the ELBO and the IWAE bound is (mostly) the KL from q(z|x) to the true posterior: a "
        "Gaussian q cannot follow a posterior the decoder's folds cut into pieces. During the warm-up (β &lt; 1) "
        "the training curve is not a bound yet.", live=_bounds),
}
