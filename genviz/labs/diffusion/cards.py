"""Info cards of the diffusion lab's views (genviz.core.cards)."""
from genviz.core.cards import Card

SONG = "Song et al., Score-Based Generative Modeling through Stochastic Differential Equations (2021)"
DDPM = "Ho, Jain &amp; Abbeel, Denoising Diffusion Probabilistic Models (2020)"
CARDS = {
    "samples": Card(
        "Samples",
        "Points drawn by the chosen sampler from noise at t = 1 down to t &asymp; 0, over the data (grey); green "
        "circles mark the modes of a mixture.",
        "x<sub>1</sub> ~ N(0, b(1)<sup>2</sup>I), then the sampler's steps; the last step returns Tweedie's "
        "E[x<sub>0</sub> | x<sub>t</sub>] = (x<sub>t</sub> &minus; b(t) &epsilon;<sub>&theta;</sub>) / a(t)",
        f"{DDPM}; {SONG}",
        "Too few steps blur the samples between modes; the readout scores them by the GAN lab's coverage protocol."),
    "score-field": Card(
        "Score at t",
        "The learned score (red arrows) over the exact one (black) and the exact density of the noised data at "
        "time t (the slider).",
        "s<sub>&theta;</sub>(x, t) = &minus;&epsilon;<sub>&theta;</sub>(x, t) / b(t); exact: &nabla;log p<sub>t</sub>(x), "
        "p<sub>t</sub> = &sum;<sub>k</sub> w<sub>k</sub> N(a(t)&mu;<sub>k</sub>, (a(t)<sup>2</sup>s<sup>2</sup> + b(t)<sup>2</sup>)I)",
        SONG,
        "At large t the field points to the centre; at small t to each mode. Far from the data the learned arrows "
        "are wrong: no training points were noised there."),
    "paths": Card(
        "Paths",
        "Reverse trajectories from the same starting noise: the reverse SDE (orange) and the probability-flow ODE (blue).",
        "SDE: dx = [f x &minus; g<sup>2</sup> s<sub>&theta;</sub>] dt + g dW&#772;; ODE: dx/dt = f x &minus; "
        "&frac12; g<sup>2</sup> s<sub>&theta;</sub>",
        SONG,
        "Both end on the data; the ODE's paths are smooth and deterministic, the SDE's wander. Flow matching's "
        "ODE paths are the straightest (the readout's path ratio)."),
    "per-t": Card(
        "Loss and score error per t",
        "The training loss and the error of the learned score against the exact one, in bins of t.",
        "loss = E&Vert;&epsilon;<sub>&theta;</sub>(x<sub>t</sub>, t) &minus; &epsilon;&Vert;<sup>2</sup>; "
        "error = b(t)<sup>2</sup> E&Vert;s<sub>&theta;</sub> &minus; &nabla;log p<sub>t</sub>&Vert;<sup>2</sup>",
        DDPM,
        "The loss stays above 0 even for a perfect model (its irreducible part); the score error goes to 0. "
        "Small t is hardest."),
    "curves": Card(
        "Training loss", "The denoising loss per step (noise prediction, or velocity for flow matching).",
        "E<sub>t, x<sub>0</sub>, &epsilon;</sub> &Vert;&epsilon;<sub>&theta;</sub>(a(t)x<sub>0</sub> + b(t)&epsilon;, t) "
        "&minus; &epsilon;&Vert;<sup>2</sup>",
        f"{DDPM}; Lipman et al., Flow Matching (2023)",
        "It flattens at a positive value: the noise cannot be predicted exactly from x<sub>t</sub>."),
}
