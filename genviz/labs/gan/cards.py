"""Info cards of the GAN lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term, grouped

# L_D's two parts per loss: (symbol of the real part, its words, symbol of the fakes' part, its words)
D_PARTS = {
    "minimax": (r"-\mathbb{E}\,\log D(x)", "real points", r"-\mathbb{E}\,\log(1-D(G(z)))", "generated points"),
    "lsgan": (r"\frac{1}{2}\mathbb{E}\,(D(x)-1)^2", "real points", r"\frac{1}{2}\mathbb{E}\,D(G(z))^2", "generated points"),
    "wgan": (r"-\mathbb{E}\,f(x)", "real points (critic)", r"\mathbb{E}\,f(G(z))", "generated points (critic)"),
    "hinge": (r"\mathbb{E}\max(0, 1-f(x))", "real points", r"\mathbb{E}\max(0, 1+f(G(z)))", "generated points"),
}
D_PARTS["nonsat"] = D_PARTS["minimax"]
D_PARTS["wgan-gp"] = D_PARTS["wgan"]
G_LOSS = {"minimax": r"\mathbb{E}\,\log(1-D(G(z)))", "nonsat": r"-\mathbb{E}\,\log D(G(z))",
          "lsgan": r"\frac{1}{2}\mathbb{E}\,(D(G(z))-1)^2"}


def _losses(data: dict) -> list:
    o = data.get("objective")
    if not o or o.get("loss") not in D_PARTS:
        return []
    real, real_name, fake, fake_name = D_PARTS[o["loss"]]
    n = o["n"]
    how = f"over {n:,} held-out real and {n:,} generated{' packs' if o.get('pack', 1) > 1 else ' points'}"
    d = Equation(Term(r"\mathcal{L}_D", "D's loss", o["d_loss"], o["d_loss_se"], "losses#d_loss", key="objective.d_loss"),
                 (Term(real, real_name, o["d_real_part"], o["d_real_part_se"], "samples"),
                  Term(fake, fake_name, o["d_fake_part"], o["d_fake_part_se"], "samples")),
                 title=f"D's loss {how} (without a gradient penalty or R1)")
    g = Equation(Term(r"\mathcal{L}_G = " + G_LOSS.get(o["loss"], r"-\mathbb{E}\,f(G(z))"), "G's loss", o["g_loss"],
                      o["g_loss_se"], "losses#g_loss"), title="G's loss on the same generated points")
    return [d, g]


def _outputs(data: dict) -> list:
    o = data.get("objective")
    if not o:
        return []
    critic = o["loss"] in ("wgan", "wgan-gp")
    f = "f" if critic else "D"
    return [Equation(Term(rf"\mathbb{{E}}_{{x\sim\mathrm{{data}}}}\,{f}(x)", "on real points", o["d_real"], o["d_real_se"],
                          "d-output#d_real"), title="D's mean output on held-out real points"),
            Equation(Term(rf"\mathbb{{E}}_z\,{f}(G(z))", "on generated points", o["d_fake"], o["d_fake_se"],
                          "d-output#d_fake"), title="and on generated points (0.5 each at the game's equilibrium)")]


def _optimal(data: dict) -> list:
    o = data.get("optimal")
    if not o:
        return []
    js = Term(r"\mathrm{JS}(p_\mathrm{data}\,\|\,p_g)", "the JS divergence (p_g by KDE)", o["js"], o["js_se"], "js#js",
              key="optimal.js")
    out = [Equation(js, (Term(r"\frac{1}{2}\mathbb{E}_\mathrm{data}\log\frac{2p_\mathrm{data}}{p_\mathrm{data}+p_g}",
                              f"over {o['n_real']:,} held-out real points", o["js_real_part"], o["js_real_part_se"],
                              "optimal-d"),
                         Term(r"\frac{1}{2}\mathbb{E}_{g}\log\frac{2p_g}{p_\mathrm{data}+p_g}",
                              f"over {o['n_kde']:,} generated points the KDE was not built on", o["js_fake_part"],
                              o["js_fake_part_se"], "optimal-d")),
                    title="JS = the two halves, each an expectation of log 2 D* or log 2 (1 − D*)")]
    if "js_bound" in o:
        out.append(Equation(js, (Term(r"\log 2-\mathcal{L}_D/2", "what the learned D proves", o["js_bound"],
                                      o["js_bound_se"], "js#js_bound", key="optimal.js_bound"),
                                 Term(r"\Delta", "what it misses (0 when D = D*)", o["gap"], o["gap_se"], "optimal-d",
                                      key="optimal.gap")),
                            title="JS = the learned D's bound + its shortfall (Goodfellow et al. 2014, Thm. 1)"))
    return out


def _per_mode(data: dict) -> list:
    cov = data.get("coverage")
    if not cov or "per_mode" not in cov:
        return []
    import numpy as np

    counts = np.asarray(cov["per_mode"], dtype=np.float64)
    k = len(counts)
    terms = grouped(counts, [f"mode {i}" for i in range(k)], [rf"n_{{{i}}}" for i in range(k)], 5, "per-mode",
                    (r"\sum_{\mathrm{rest}} n_k", "the other {n} modes"), how="a count")
    return [Equation(Term(r"n_{\mathrm{HQ}}", "high-quality samples", float(counts.sum()), None, "quality",
                          how="a count", key="coverage.modes"), terms, title="High-quality samples of the 2,500, by nearest mode")]


def _quality(data: dict) -> list:
    cov = data.get("coverage")
    if not cov:
        return []
    return [Equation(Term(r"\mathrm{HQ}", "high-quality samples, %", cov["hq_percent"], cov.get("hq_percent_se"),
                          "quality#hq", key="coverage.hq_percent"), title="PacGAN protocol: the share within 3σ of a mode")]


def _modes(data: dict) -> list:
    cov = data.get("coverage")
    if not cov or "per_mode" not in cov:
        return []
    import numpy as np

    hit = (np.asarray(cov["per_mode"]) > 0).astype(np.float64)
    k = len(hit)
    terms = tuple(Term(rf"\mathbb{{1}}[n_{{{i}}}>0]", f"mode {i}", float(hit[i]), None, f"per-mode#{i}") for i in range(k)) \
        if k <= 8 else ()
    return [Equation(Term(r"\#\mathrm{modes}", "modes captured", float(cov["modes"]), None, "modes#modes",
                          how="a count", key="coverage.modes"), terms, title=f"Modes with at least one high-quality sample, of {k}")]


GAN = "Goodfellow et al., Generative Adversarial Nets (2014)"
PROTOCOL = ("Srivastava et al., VEEGAN (2017) and Lin et al., PacGAN (2018): the mode-coverage protocol on the "
            "ring and grid")


def _g_curve(data: dict) -> list:
    o = data.get("objective")
    if not o or o.get("loss") not in ("minimax", "nonsat"):
        return []
    return [Equation(Term(r"\mathbb{E}_z\,D(G(z))", "where the fakes sit on the curve", o["d_fake"], o["d_fake_se"],
                          "g-loss-vs-d"), title="The marked fakes' mean D(G(z)): near 0, minimax's loss is flat"),
            Equation(Term(r"\mathcal{L}_G = " + G_LOSS[o["loss"]], "G's loss there", o["g_loss"], o["g_loss_se"],
                          "g-loss-vs-d"))]


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
        "discriminator.", live=_per_mode),
    "modes": Card(
        "Modes captured",
        "The number of modes with at least one high-quality sample, over training.",
        "#{k : count<sub>k</sub> &gt; 0}", PROTOCOL,
        "A well-trained GAN reaches all 8 (ring) or 25 (grid) modes and stays there.", live=_modes),
    "quality": Card(
        "High-quality samples",
        "The share of high-quality samples over training. The readout above gives the reverse KL of the mode "
        "histogram to uniform, with its standard error.",
        "high quality: min<sub>k</sub> &Vert;x &minus; &mu;<sub>k</sub>&Vert; / &sigma; &lt; 3; reverse KL = "
        "&sum;<sub>k</sub> p<sub>k</sub> log(p<sub>k</sub> K), p<sub>k</sub> = the share of high-quality samples at "
        "mode k; its standard error by the delta method",
        PROTOCOL,
        "A perfect generator scores about 98.9 % high quality and reverse KL near 0.", live=_quality),
    "losses": Card(
        "Losses",
        "The discriminator's and the generator's losses per step.",
        "minimax: L<sub>D</sub> = &minus;E log D(x) &minus; E log(1 &minus; D(G(z))), L<sub>G</sub> = E log(1 &minus; "
        "D(G(z))); non-saturating L<sub>G</sub> = &minus;E log D(G(z)); WGAN: E f(G(z)) &minus; E f(x)",
        f"{GAN}; Arjovsky et al., Wasserstein GAN (2017); Gulrajani et al., WGAN-GP (2017)",
        "GAN losses do not fall steadily: oscillation is normal; a discriminator loss at 0 means D wins and G's "
        "gradients vanish.", live=_losses),
    "d-output": Card(
        "D's mean output",
        "The discriminator's average probability on real and on generated points.",
        "E<sub>x~data</sub>[D(x)] and E<sub>z</sub>[D(G(z))]", GAN,
        "At the game's equilibrium both are 0.5: D cannot tell real from generated.", live=_outputs),
    "optimal-d": Card(
        "The optimal discriminator D*",
        "For a fixed generator the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)): blue where the data "
        "are denser than the generator, red where the generator puts mass the data lack, white (½) where they agree. "
        "Compare it with the learned D(x) under the samples on the left.",
        "D*(x) = p<sub>data</sub>(x) / (p<sub>data</sub>(x) + p<sub>g</sub>(x)); with it the GAN objective is "
        "2 JS(p<sub>data</sub> &Vert; p<sub>g</sub>) &minus; log 4. p<sub>data</sub> is exact (a Gaussian mixture); "
        "p<sub>g</sub> a Gaussian kernel density estimate of G's samples, its bandwidth chosen by held-out "
        "likelihood",
        f"{GAN} (Prop. 1, Thm. 1, Fig. 1)",
        "At the equilibrium p_g = p_data, D* = ½ everywhere. A learned D that is far from D* gives G a gradient "
        "toward whatever D currently gets wrong, not toward p_data.", live=_optimal),
    "js": Card(
        "Jensen–Shannon divergence and the learned D's bound",
        "Blue: JS(p_data ‖ p_g) from D* (the KDE plug-in). Red: the divergence the trained D proves, "
        "log 2 − L_D / 2 with L_D its cross-entropy loss on held-out points. The red curve can only lie below "
        "the blue one (up to noise); the distance between them is how far D is from optimal.",
        "JS = &frac12; E<sub>data</sub> log 2D* + &frac12; E<sub>g</sub> log 2(1 &minus; D*); for every D: "
        "E<sub>data</sub> log D + E<sub>g</sub> log(1 &minus; D) &le; 2 JS &minus; log 4, so JS &ge; log 2 &minus; "
        "L<sub>D</sub>/2",
        f"{GAN} (Thm. 1)",
        "A minimax GAN minimises JS only if D is optimal at every G step; in practice D is far from D*, and its "
        "bound says little about how close p_g is to p_data.", live=_optimal),
    "g-loss-vs-d": Card(
        "G's loss against D(G(z))",
        "The generator's loss as a function of the discriminator's output on fakes, with the current fakes marked.",
        "minimax log(1 &minus; D) against non-saturating &minus;log D", GAN,
        "Where fakes are easy to spot (D near 0), the minimax loss is flat: no gradient. The non-saturating loss "
        "is steep there, which is why it trains.", live=_g_curve),
}
