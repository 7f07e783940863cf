"""Info cards of the gradient-estimator lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term

NAMES = {"sf": "score function", "sf-baseline": "score function + baseline", "reparam": "reparameterization",
         "gumbel": "Gumbel-softmax", "wake-sleep": "wake-sleep", "rws": "reweighted wake-sleep",
         "sf-elbo": "score-function ELBO + baseline"}
SYMBOL = {"sf": r"\hat g_{\mathrm{SF}}", "sf-baseline": r"\hat g_{\mathrm{SF}-b}", "reparam": r"\hat g_{\mathrm{R}}",
          "gumbel": r"\hat g_{\mathrm{GS}}"}


def _means(view: str, curves: str):
    """Each estimator's mean = the exact gradient + its bias (0 within its SE when unbiased)."""
    def equations(data: dict) -> list:
        est = data.get("estimators")
        if not est or "exact" not in data:
            return []
        import numpy as np

        exact = float(np.ravel(data["exact"])[0])
        discrete = np.ndim(data["exact"]) > 0
        how = "by enumerating the categories" if discrete else "closed form"
        symbol = r"\partial\mathbb{E}[f]/\partial\ell_1" if discrete else r"\nabla_\mu\mathbb{E}_q[f]"
        out = []
        for name, e in est.items():
            out.append(Equation(
                Term(rf"\overline{{{SYMBOL.get(name, 'g')}}}", f"{NAMES.get(name, name)}: mean of {e['n']:,}",
                     e["mean"], e["se"], f"{curves}#mean_{name}", key=f"estimators.{name}.mean"),
                (Term(symbol, "the exact gradient", exact, None, view, how=how),
                 Term(r"\mathrm{bias}", "mean minus exact", e["mean"] - exact, e["se"], view)),
                title=NAMES.get(name, name)))
        return out
    return equations


def _variances(data: dict) -> list:
    est = data.get("estimators")
    if not est or "closed_var" not in data:
        return []

    out = []
    for name, e in est.items():
        se = e.get("var_se")
        closed = data["closed_var"].get(name)
        if closed is None or se is None:
            continue
        out.append(Equation(Term(rf"\mathrm{{Var}}[{SYMBOL.get(name, 'g')}]", f"{NAMES.get(name, name)}: measured",
                                 e["var"], se, "variance-vs-samples"),
                            (Term(r"\mathrm{Var}_{\mathrm{closed}}", "closed form", closed, None, "variance-vs-samples",
                                  how="closed form", key=f"closed_var.{name}"),
                             Term(r"\Delta", "measured minus closed form", e["var"] - closed, se, "variance-vs-samples")),
                            title=f"{NAMES.get(name, name)} (the measured variance's SE from the fourth moment)"))
    return out


def _test_elbo(data: dict) -> list:
    t, se = data.get("test_elbo"), data.get("test_elbo_se") or {}
    if not t:
        return []
    out = [Equation(Term(rf"\mathcal{{L}}_{{\mathrm{{{m}}}}}", f"test ELBO, {NAMES.get(m, m)}", v, se.get(m),
                         f"test-elbo#{m}", key=f"test_elbo.{m}"), title="Held-out images, 10 draws each" if i == 0 else "")
           for i, (m, v) in enumerate(t.items())]
    if "lead_reparam_over_sf" in data:
        out.append(Equation(Term(r"\mathcal{L}_{\mathrm{reparam}} - \mathcal{L}_{\mathrm{sf}}", "the reparameterized VAE's lead",
                                 data["lead_reparam_over_sf"], data.get("lead_reparam_over_sf_se"), "test-elbo"),
                            title="Paired over the same images"))
    return out


def _log_px(data: dict) -> list:
    lp, se = data.get("log_px"), data.get("log_px_se") or {}
    if not isinstance(lp, dict):
        return []
    out = [Equation(Term(rf"\overline{{\log p(x)}}_{{\mathrm{{{m}}}}}", NAMES.get(m, m), v, se.get(m), f"ws-curves#{m}",
                    key=f"log_px.{m}"),
                    title="Exact per image (every latent state summed); ± SE over the test images" if i == 0 else "")
           for i, (m, v) in enumerate(lp.items())]
    if "rws_lead" in data:
        out.append(Equation(Term(r"\log p_{\mathrm{RWS}} - \log p_{\mathrm{WS}}", "reweighted wake-sleep's lead",
                                 data["rws_lead"], data.get("rws_lead_se"), "ws-curves"), title="Paired over the same images"))
    return out


IWAE_NAMES = {"k1": "VAE (k = 1)", "k5": "IWAE k = 5", "k50": "IWAE k = 50"}


def _iwae_nll(data: dict) -> list:
    nll, se = data.get("nll"), data.get("nll_se") or {}
    if not isinstance(nll, dict) or "nll_lead" not in data or "k1" not in nll:
        return []
    return [Equation(Term(r"-\log p_{k=1}(x) + \log p_{k=50}(x)", "k = 50's lead, paired over the same images",
                          data["nll_lead"], data.get("nll_lead_se"), "iwae-nll", key="nll_lead"),
                     (Term(r"-\hat{\mathcal{L}}_{500}^{k=1}", "the ELBO-trained VAE's test −log p(x)", nll["k1"],
                           se.get("k1"), "iwae-nll#k1", key="nll.k1"),
                      Term(r"-\hat{\mathcal{L}}_{500}^{k=50}", "the k = 50 model's", nll["k50"], se.get("k50"),
                           "iwae-nll#k50", sign=-1, key="nll.k50")),
                     title="Test −log p(x) by L₅₀₀ on up to 200 held-out images, ± SE over images"),
            Equation(Term(r"-\hat{\mathcal{L}}_{500}^{k=5}", IWAE_NAMES["k5"], nll["k5"], se.get("k5"), "iwae-nll#k5",
                          key="nll.k5"), title="and the k = 5 model")]


def _iwae_active(data: dict) -> list:
    act = data.get("active")
    if not isinstance(act, dict):
        return []
    return [Equation(Term(rf"A_{{\mathrm{{{m}}}}}", IWAE_NAMES.get(m, m), float(v), None, f"iwae-active#{m}",
                          how="a count over the latent units", key=f"active.{m}"),
                     title="Units j with Cov_x E_q[z_j|x] > 0.01 over 500 test images" if i == 0 else "")
            for i, (m, v) in enumerate(act.items())]


def _vamp(data: dict) -> list:
    mk, se = data.get("marginal_kl"), data.get("marginal_kl_se") or {}
    if not isinstance(mk, dict) or "prior_gain" not in data:
        return []
    out = [Equation(Term(r"\Delta\mathrm{KL}", "how much closer the VampPrior is to q(z)", data["prior_gain"],
                         data["prior_gain_se"], "vamp-kl", key="prior_gain"),
                    (Term(r"\mathrm{KL}(q(z)\,\|\,\mathcal{N}(0,I))", "the standard prior's", mk["standard"],
                          se.get("standard"), "vamp-kl#standard", key="marginal_kl.standard"),
                     Term(r"\mathrm{KL}(q(z)\,\|\,p_\lambda(z))", "the VampPrior's", mk["vamp"], se.get("vamp"),
                          "vamp-kl#vamp", sign=-1, key="marginal_kl.vamp")),
                    title="Over 500 training images, 2,000 draws of q(z) each (independent estimates)")]
    for m in ("standard", "vamp"):
        out.append(Equation(
            Term(r"\mathbb{E}_x\,\mathrm{KL}(q(z|x)\,\|\,p(z))", f"the KL term ({m} prior)", data["mean_kl"][m],
                 data["mean_kl_se"][m], f"prior-{m}"),
            (Term(r"I_q[x;z]", "mutual information", data["mutual_info"][m], data["mutual_info_se"][m], f"prior-{m}"),
             Term(r"\mathrm{KL}(q(z)\,\|\,p(z))", "the prior's misfit", mk[m], se.get(m), f"vamp-kl#{m}")),
            title=f"ELBO surgery, {m} prior: the same draws, so the terms add up exactly"))
    return out


def _ar(data: dict) -> list:
    kl, se = data.get("kl"), data.get("kl_se") or {}
    if not isinstance(kl, dict) or "kl_drop" not in data:
        return []
    return [Equation(Term(r"\Delta\mathrm{KL}", "the information z no longer carries", data["kl_drop"],
                          data.get("kl_drop_se"), "ar-kl", key="kl_drop"),
                     (Term(r"\mathrm{KL}_{\mathrm{factorized}}", "factorized decoder", kl["factorized"],
                           se.get("factorized"), "ar-kl#factorized", key="kl.factorized"),
                      Term(r"\mathrm{KL}_{\mathrm{autoregressive}}", "autoregressive decoder", kl["autoregressive"],
                           se.get("autoregressive"), "ar-kl#autoregressive", sign=-1, key="kl.autoregressive")),
                     title="E_x KL(q(z|x) ‖ N(0, I)), closed form per image, ± SE over held-out images (the drop paired)")]


def _posterior(data: dict) -> list:
    kl = data.get("kl")
    if not isinstance(kl, dict):
        return []
    return [Equation(Term(rf"\mathrm{{KL}}(q\,\|\,p(h|x))_{{\mathrm{{{m}}}}}", NAMES.get(m, m), v, None, "",
                          how="exact, every latent state, mean over 100 test images", key=f"kl.{m}"))
            for m, v in kl.items()]


MOHAMED = "Mohamed et al., Monte Carlo Gradient Estimation in Machine Learning (JMLR 2020)"
GUMBEL = "Jang, Gu &amp; Poole (2017) and Maddison, Mnih &amp; Teh (2017): Gumbel-softmax / Concrete"
WS = ("Hinton et al., The Wake-Sleep Algorithm (1995); Bornschein &amp; Bengio, Reweighted Wake-Sleep (2015); "
      "Mnih &amp; Gregor (2014) for the score-function ELBO")
SF = ("score function: f(z) &nabla;log q(z); with a baseline: (f(z) &minus; b) &nabla;log q(z); "
      "reparameterization: &nabla;<sub>&theta;</sub> f(&mu; + &sigma;&epsilon;)")
POSTERIOR = Card(
    "q against the exact posterior",
    "For a test image, each latent unit's exact posterior probability (grey, by enumerating every latent state) and "
    "the recognition model's q (colour), for one training method.",
    "p(h<sub>j</sub> = 1 | x) = &sum;<sub>h: h<sub>j</sub>=1</sub> p(x, h) / &sum;<sub>h</sub> p(x, h)", WS,
    "Wake-sleep trains q on fantasies from the model, not on data: its q can sit farther from the posterior.",
    live=_posterior)
FANTASIES = Card(
    "Fantasies", "Images sampled from the generative model of one method: h ~ p(h), x ~ p(x|h).",
    "x ~ p(x | h), h ~ p(h)", WS,
    "The sleep phase learns q from exactly these images.")
CARDS = {
    "estimates": Card(
        "Estimates of d/d&mu; E<sub>q</sub>[f]",
        "Histograms of single-sample gradient estimates of each estimator, around the exact gradient (black).",
        f"q = N(&mu;, &sigma;<sup>2</sup>); {SF}", MOHAMED,
        "All are unbiased (centred on the black line); the score function's spread is far wider.", live=_means("estimates", "variance-means")),
    "variance-vs-samples": Card(
        "Variance of n-sample averages",
        "The variance of the average of n estimates, measured, against the closed form divided by n (dashed).",
        "Var[(1/n) &sum; g<sub>i</sub>] = Var[g] / n", MOHAMED,
        "The lines are parallel: each estimator needs n times more samples to cut its error &radic;n-fold; the gap "
        "between them is the price of the score function.", live=_variances),
    "variance-means": Card(
        "Mean of the last 8,192 estimates",
        "The running mean of each estimator over its last 8,192 estimates, against the exact gradient.",
        f"(1/8192) &sum; g<sub>i</sub>; {SF}", MOHAMED,
        "Every mean converges to the same exact value: unbiasedness, seen.", live=_means("estimates", "variance-means")),
    "discrete-estimates": Card(
        "Estimates of &part;E[f]/&part;logit<sub>1</sub>",
        "Single-sample estimates for a categorical q: the score function, with a baseline, and Gumbel-softmax; "
        "exact value (black, by enumeration).",
        "score function f(c) &nabla;log q(c); Gumbel-softmax: c&#771; = softmax((logits + g)/&tau;), "
        "g ~ Gumbel, gradient through c&#771;", GUMBEL,
        "Gumbel-softmax is not centred on the exact value: it is biased, with low variance.", live=_means("discrete-estimates", "discrete-means")),
    "temperature": Card(
        "Gumbel-softmax temperature",
        "The bias (with its standard error; hollow where within 2 SE of 0) and the variance of the Gumbel-softmax "
        "estimator at 9 temperatures.",
        "bias = E[g<sub>&tau;</sub>] &minus; exact gradient; variance = Var[g<sub>&tau;</sub>]", GUMBEL,
        "Colder (small &tau;): less bias, more variance. There is no free lunch."),
    "discrete-means": Card(
        "Mean of the last 8,192 estimates",
        "The running mean of each discrete estimator over its last 8,192 estimates.",
        "(1/8192) &sum; g<sub>i</sub>", GUMBEL,
        "The score-function means converge to the exact gradient; Gumbel-softmax's settles beside it (its bias).", live=_means("discrete-estimates", "discrete-means")),
    "test-elbo": Card(
        "Test ELBO",
        "The ELBO of held-out images (10 draws each, with its standard error) for one VAE trained three ways.",
        "ELBO = E<sub>q(z|x)</sub>[log p(x|z)] &minus; KL(q &Vert; p); gradients by " + SF, MOHAMED,
        "Same start, same minibatches: the reparameterized VAE leads; the score function without a baseline lags.", live=_test_elbo),
    "vae-curves": Card(
        "Train ELBO", "The training ELBO of the three estimators' VAEs per step.",
        "as in the test ELBO view", MOHAMED,
        "High-variance gradients force small steps: the score function's VAE learns slowly."),
    "ws-curves": Card(
        "Exact test log p(x)",
        "The exact log-likelihood of held-out images for wake-sleep, reweighted wake-sleep and the score-function "
        "ELBO, summed over every latent state.",
        "log p(x) = log &sum;<sub>h</sub> p(x | h) p(h) over all 2<sup>10</sup> states", WS,
        "RWS, whose q is trained on data with importance weights, usually ends above wake-sleep.", live=_log_px),
    "iwae-nll": Card(
        "VAE against IWAE: test log-likelihood",
        "Three copies of one VAE, from the same start on the same minibatches, trained on the IWAE bound with k = 1 "
        "(the ELBO), 5 and 50 importance samples; each one's test −log p(x), estimated by L₅₀₀ (500 importance "
        "samples from its own q) on up to 200 held-out images.",
        "L<sub>k</sub> = E[log (1/k) &sum;<sub>i</sub> p(x, z<sub>i</sub>) / q(z<sub>i</sub>|x)], z<sub>i</sub> ~ "
        "q(z|x); log p(x) &ge; L<sub>k+1</sub> &ge; L<sub>k</sub> &ge; L<sub>1</sub> = ELBO",
        "Burda, Grosse &amp; Salakhutdinov, Importance Weighted Autoencoders (2016), Table 1",
        "The tighter bound trains a better generative model: k = 50 ends lowest. (L₅₀₀ is itself a lower bound on "
        "log p(x), so every curve lies a little above the true −log p(x).)", live=_iwae_nll),
    "iwae-active": Card(
        "Active latent units",
        "How many latent units each model uses: a unit is active when its posterior mean moves with x.",
        "A<sub>u</sub> = Cov<sub>x</sub>(E<sub>q(u|x)</sub>[u]) &gt; 0.01",
        "Burda, Grosse &amp; Salakhutdinov (2016), sec. 5.2",
        "The ELBO penalises every unit whose q differs from the prior, so it switches units off; IWAE's weights "
        "forgive a loose q and keep more units active.", live=_iwae_active),
    "iwae-units": Card(
        "Activity of each unit",
        "For each latent unit (side by side per model), log₁₀ of the variance over test images of its posterior "
        "mean; the dashed line is the 0.01 threshold.",
        "log<sub>10</sub> Cov<sub>x</sub>(E<sub>q(u|x)</sub>[u])", "Burda, Grosse &amp; Salakhutdinov (2016)",
        "Inactive units sit orders of magnitude below the line: their q is the prior whatever x is."),
    "iwae-curves": Card(
        "Training bounds",
        "The bound each model is trained on, per minibatch: L₁ (the ELBO), L₅ and L₅₀.",
        "L<sub>k</sub> as in the test view", "Burda, Grosse &amp; Salakhutdinov (2016)",
        "The curves are different bounds, so their gap mixes a better model with a tighter bound; the test view "
        "compares the models on one yardstick."),
    "prior-standard": Card(
        "The standard normal prior",
        "The prior N(0, I) (shading) under the encoder means of 500 training images: where the prior has mass and the "
        "means do not, a sample from p(z) decodes to something no training image encodes to.",
        "p(z) = N(0, I); KL(q(z) &Vert; p(z)) with q(z) = (1/N) &sum;<sub>n</sub> q(z|x<sub>n</sub>)",
        "Hoffman &amp; Johnson, ELBO surgery (2016)",
        "The ELBO pays E KL(q(z|x) &Vert; p(z)) = I[x; z] + KL(q(z) &Vert; p(z)): the second part is the price of a "
        "prior that does not match the aggregate posterior.", live=_vamp),
    "prior-vamp": Card(
        "The VampPrior",
        "A prior made of the encoder's own posteriors at K learned pseudo-inputs (shading), trained with the VAE: it "
        "moves its mass to where the encoder puts the data.",
        "p<sub>&lambda;</sub>(z) = (1/K) &sum;<sub>k</sub> q<sub>&phi;</sub>(z | u<sub>k</sub>), u<sub>k</sub> learned; "
        "its KL term has no closed form: log q(z|x) &minus; log p<sub>&lambda;</sub>(z) at the posterior's draw",
        "Tomczak &amp; Welling, VAE with a VampPrior (AISTATS 2018)",
        "The optimal prior for a fixed encoder is the aggregate posterior itself; the VampPrior approximates it with K "
        "components, so its KL(q(z) &Vert; p(z)) is smaller than the standard prior's.", live=_vamp),
    "vamp-kl": Card(
        "Each prior against the aggregate posterior",
        "KL(q(z) &Vert; p(z)) over training, for both priors: Monte Carlo over draws of the aggregate posterior of 500 "
        "training images, each model with its own encoder.",
        "KL(q(z) &Vert; p(z)) = E<sub>q(z)</sub>[log q(z) &minus; log p(z)], q(z) the mixture of the 500 posteriors",
        "Tomczak &amp; Welling (2018); Hoffman &amp; Johnson (2016)", "The VampPrior's curve stays below.", live=_vamp),
    "vamp-curves": Card(
        "Training ELBO", "The training ELBO of the two VAEs per step (one draw, the KL by Monte Carlo for both).",
        "ELBO = E<sub>q</sub>[log p(x|z) + log p(z) &minus; log q(z|x)]", "Tomczak &amp; Welling (2018)",
        "On the 8&times;8 digits the two ELBOs end close: the prior's misfit is a small part of the KL term here."),
    "ar-kl": Card(
        "How much z is used",
        "The KL term of two copies of one VAE (same start, same minibatches): one with a factorized decoder p(x|z) = "
        "&prod; p(x<sub>i</sub>|z), one whose decoder is autoregressive, p(x|z) = &prod; p(x<sub>i</sub>|x<sub>&lt;i</sub>, z)"
        " (a MADE whose hidden units also see z). The KL term is the information z carries about x.",
        "E<sub>x</sub> KL(q(z|x) &Vert; N(0, I)) = &frac12; &sum;<sub>j</sub> (&mu;<sub>j</sub>&sup2; + &sigma;<sub>j</sub>&sup2; "
        "&minus; 1 &minus; log &sigma;<sub>j</sub>&sup2;)",
        "Bowman et al., Generating sentences from a continuous space (2016); Chen et al., Variational lossy autoencoder "
        "(ICLR 2017)",
        "A decoder that can model x on its own pays less KL by ignoring z: the autoregressive decoder's curve ends far "
        "below. PixelVAE and the variational lossy autoencoder restrict the decoder's receptive field to keep z in use.",
        live=_ar),
    "ar-nll": Card(
        "Test log-likelihood", "Both models' test −log p(x) by L₅₀₀ (a lower bound on log p(x): the true values lie a "
        "little below), ± SE over held-out images.",
        "L<sub>k</sub> = E log (1/k) &sum;<sub>i</sub> p(x, z<sub>i</sub>)/q(z<sub>i</sub>|x), k = 500",
        "Burda, Grosse &amp; Salakhutdinov (2016)",
        "On 1,600 training digits the MADE decoder first leads, then overfits: its test curve turns up."),
    "ar-samples-factorized": Card(
        "Samples, factorized decoder", "16 images decoded from the same 16 draws of z ~ N(0, I) (each pixel a Bernoulli "
        "draw given z).", "x ~ &prod; Bernoulli(x<sub>i</sub>; &sigma;(dec(z)<sub>i</sub>))", "Kingma &amp; Welling (2014)",
        "All of the image's structure must come through z."),
    "ar-samples-autoregressive": Card(
        "Samples, autoregressive decoder", "The same 16 draws of z, each image sampled pixel by pixel given z.",
        "x<sub>i</sub> ~ Bernoulli(&sigma;(dec(z)<sub>i</sub> + MADE(x<sub>&lt;i</sub>, z)<sub>i</sub>)), i in raster order",
        "Chen et al. (2017)", "The decoder draws digits whatever z is: z matters less."),
    "ar-curves": Card(
        "Training ELBO", "The two VAEs' training ELBO per step.", "ELBO = E<sub>q</sub> log p(x|z) &minus; KL(q(z|x) &Vert; p(z))",
        "Kingma &amp; Welling (2014)", "The autoregressive decoder reaches a higher ELBO on the training images."),
    "posterior-sf-elbo": POSTERIOR, "posterior-rws": POSTERIOR, "posterior-wake-sleep": POSTERIOR,
    "fantasies-sf-elbo": FANTASIES, "fantasies-rws": FANTASIES, "fantasies-wake-sleep": FANTASIES,
}
