"""Info cards of the DCGAN lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term

DCGAN = ("Radford, Metz &amp; Chintala, Unsupervised representation learning with deep convolutional generative "
         "adversarial networks (ICLR 2016)")
GAN = "Goodfellow et al., Generative adversarial nets (NeurIPS 2014)"
IS = "Salimans et al., Improved techniques for training GANs (NeurIPS 2016), &sect;4 (the Inception score)"
WHITE = "White, Sampling generative networks (2016)"


def _score(data: dict) -> list:
    s, r = data.get("score"), data.get("real_score")
    if not s or not r:
        return []
    return [Equation(Term(r"\log \mathrm{IS}", f"log digit score of {s['images']:,} samples", s["log_score"],
                          s["log_score_se"], "score#log_score", how="SE from 10 splits", key="score.log_score"),
                     (Term(r"H[p(y)]", "entropy of the mean class distribution (variety)", s["h_marginal"], None,
                           "score", how="of the same samples"),
                      Term(r"\mathbb{E}_x H[p(y|x)]", "mean entropy per sample (how unsure the classifier is)",
                           s["h_conditional"], s["h_conditional_se"], "score", sign=-1)),
                     title="log IS = H[p(y)] − E H[p(y|x)] = E KL(p(y|x) ‖ p(y))"),
            Equation(Term(r"\log \mathrm{IS}_{\mathrm{real}}", "the real test digits' log score", r["log_score"],
                          r["log_score_se"], "score#real", how="SE from 10 splits", key="real_score.log_score"))]


CARDS = {
    "samples": Card(
        "Samples of fixed latent points",
        "G(z) for the same 64 points z ~ N(0, I) at every step (batch norm in evaluation mode), so each tile shows "
        "how one latent point's image changes while G learns.",
        "G: z &rarr; linear &rarr; 2 transposed convolutions (stride 2, batch norm, ReLU) &rarr; tanh; D: 2 strided "
        "convolutions (leaky ReLU) &rarr; a logit; Adam, &beta;<sub>1</sub> = 0.5.",
        DCGAN, "Blobs become strokes, then digits; tiles that all turn into the same digit are mode collapse.",
        live=_score),
    "interpolation": Card(
        "Latent interpolation",
        "Each row decodes points along a path from one latent point to another. A smooth morph from one digit to "
        "another says the generator has learnt a continuous map, not a lookup of training images.",
        "slerp: z(t) = [sin((1&minus;t)&Omega;) z<sub>a</sub> + sin(t&Omega;) z<sub>b</sub>] / sin &Omega;, "
        "cos &Omega; = z&#770;<sub>a</sub>&middot;z&#770;<sub>b</sub>; linear: (1&minus;t) z<sub>a</sub> + t z<sub>b</sub>.",
        WHITE + "; " + DCGAN + ", fig. 4",
        "With interpolation = linear the middle of each row has a smaller |z| (the title says how small) than "
        "any z the generator saw: its images are fainter or blurrier; slerp keeps the norm.", live=_score),
    "losses": Card(
        "The two players' losses",
        "D's loss on a real and a generated minibatch, and G's non-saturating loss, at every step.",
        "L<sub>D</sub> = &minus;E log D(x) &minus; E log(1 &minus; D(G(z))), L<sub>G</sub> = &minus;E log D(G(z)); "
        "at the game's equilibrium D = &frac12; everywhere: L<sub>D</sub> = 2 log 2 = 1.386, L<sub>G</sub> = log 2.",
        GAN, "Losses that hover near 1.39 and 0.69 do not mean G is good: the samples and the score say that; a D "
        "loss that falls to 0 means D wins and G's gradient vanishes.", live=_score),
    "d-output": Card(
        "D's output",
        "D's mean probability that an image is real, on the real minibatch and on G's samples.",
        "D(x) = &sigma;(logit); the optimal D for a fixed G is p<sub>data</sub>/(p<sub>data</sub> + p<sub>g</sub>).",
        GAN, "Both near &frac12; when neither player is ahead.", live=_score),
    "score": Card(
        "The digit score",
        "The Inception score's formula with a logistic-regression digit classifier on the pixels (fitted on the "
        "training images) in place of the Inception network: high when each sample is clearly one digit and the "
        "samples cover every digit. Computed on the same 1,000 latent points at every heavy snapshot; the dashed "
        "line is the real test digits' own score.",
        "IS = exp(E<sub>x</sub> KL(p(y|x) &Vert; p(y))) = exp(H[p(y)] &minus; E<sub>x</sub> H[p(y|x)]); its SE from "
        "10 disjoint splits, as the paper reports it.",
        IS, "The score climbs towards the real digits' line; a collapsed G loses H[p(y)] (a single image scores "
        "1, uniform noise about 1.6). It rewards sharp class evidence, not realism: a sample the classifier is sure "
        "of may still look odd.", live=_score),
}
