"""Info cards of the flow lab's views (genviz.core.cards)."""
from genviz.core.cards import Card

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
        "leaves a bridge between them."),
    "target": Card(
        "Target",
        "What the flow learns: the data's density (density mode, a histogram of the points) or the unnormalised "
        "target exp(&minus;U(z)) (energy mode).",
        "density mode: minimise E<sub>data</sub>[&minus;log q(x)]; energy mode: minimise KL(q &Vert; e<sup>&minus;U</sup>/Z) "
        "= E<sub>q</sub>[log q(x) + U(x)] + log Z",
        FLOWS,
        "In energy mode the reverse KL is mode-seeking: a flow too weak for U3 or U4 covers one part well and "
        "misses another."),
    "log-det-jacobian": Card(
        "log |det J| of layer k",
        "How much layer k expands (red) or contracts (blue) space at each point.",
        "log |det &part;f<sub>k</sub>(z)/&part;z|; a planar layer f(z) = z + u h(w&middot;z + b) has "
        "det = 1 + h'(w&middot;z + b) u&middot;w",
        FLOWS,
        "Density is divided by the expansion: red regions of a layer thin the density it passes on."),
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
        "The test NLL cannot fall below the data's entropy limit; a gap between train and test curves is overfitting."),
}
