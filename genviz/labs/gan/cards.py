"""Info cards of the GAN lab's views (genviz.core.cards)."""
from genviz.core.cards import Card

GAN = "Goodfellow et al., Generative Adversarial Nets (2014)"
PROTOCOL = ("Srivastava et al., VEEGAN (2017) and Lin et al., PacGAN (2018): the mode-coverage protocol on the "
            "ring and grid")
CARDS = {
    "samples": Card(
        "Real and generated samples over D(x)",
        "Real points (grey), generated points G(z) (red), the discriminator's output as a heatmap, and arrows of "
        "the gradient that moves each generated point (G's gradient field); the mesh is G's image of a grid in z.",
        "D(x) = &sigma;(logit(x)) (the critic's raw score for WGAN); arrows &prop; "
        "&minus;&nabla;<sub>x</sub> loss<sub>G</sub>(D(x)) at x = G(z)",
        GAN,
        "Mode collapse: the red points bunch onto one or two modes and jump between them; D's heatmap shows why "
        "the generator is pushed there."),
    "per-mode": Card(
        "High-quality samples per mode",
        "How many of 2,500 generated samples lie within 3 standard deviations of each mode.",
        "a sample is high quality if min<sub>k</sub> &Vert;x &minus; &mu;<sub>k</sub>&Vert; / &sigma; &lt; 3; "
        "counted per nearest mode",
        PROTOCOL,
        "Empty bars are modes the generator dropped; bars that come and go are a generator chasing the "
        "discriminator."),
    "modes": Card(
        "Modes captured",
        "The number of modes with at least one high-quality sample, over training.",
        "#{k : count<sub>k</sub> &gt; 0}", PROTOCOL,
        "A well-trained GAN reaches all 8 (ring) or 25 (grid) modes and stays there."),
    "quality": Card(
        "High-quality samples",
        "The share of high-quality samples over training. The readout above gives the reverse KL of the mode "
        "histogram to uniform, with its standard error.",
        "high quality: min<sub>k</sub> &Vert;x &minus; &mu;<sub>k</sub>&Vert; / &sigma; &lt; 3; reverse KL = "
        "&sum;<sub>k</sub> p<sub>k</sub> log(p<sub>k</sub> K), p<sub>k</sub> = the share of high-quality samples at "
        "mode k; its standard error by the delta method",
        PROTOCOL,
        "A perfect generator scores about 98.9 % high quality and reverse KL near 0."),
    "losses": Card(
        "Losses",
        "The discriminator's and the generator's losses per step.",
        "minimax: L<sub>D</sub> = &minus;E log D(x) &minus; E log(1 &minus; D(G(z))), L<sub>G</sub> = E log(1 &minus; "
        "D(G(z))); non-saturating L<sub>G</sub> = &minus;E log D(G(z)); WGAN: E f(G(z)) &minus; E f(x)",
        f"{GAN}; Arjovsky et al., Wasserstein GAN (2017); Gulrajani et al., WGAN-GP (2017)",
        "GAN losses do not fall steadily: oscillation is normal; a discriminator loss at 0 means D wins and G's "
        "gradients vanish."),
    "d-output": Card(
        "D's mean output",
        "The discriminator's average probability on real and on generated points.",
        "E<sub>x~data</sub>[D(x)] and E<sub>z</sub>[D(G(z))]", GAN,
        "At the game's equilibrium both are 0.5: D cannot tell real from generated."),
    "g-loss-vs-d": Card(
        "G's loss against D(G(z))",
        "The generator's loss as a function of the discriminator's output on fakes, with the current fakes marked.",
        "minimax log(1 &minus; D) against non-saturating &minus;log D", GAN,
        "Where fakes are easy to spot (D near 0), the minimax loss is flat: no gradient. The non-saturating loss "
        "is steep there, which is why it trains."),
}
