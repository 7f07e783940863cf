"""Info cards of the gradient-estimator lab's views (genviz.core.cards)."""
from genviz.core.cards import Card

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
    "Wake-sleep trains q on fantasies from the model, not on data: its q can sit farther from the posterior.")
FANTASIES = Card(
    "Fantasies", "Images sampled from the generative model of one method: h ~ p(h), x ~ p(x|h).",
    "x ~ p(x | h), h ~ p(h)", WS,
    "The sleep phase learns q from exactly these images.")
CARDS = {
    "estimates": Card(
        "Estimates of d/d&mu; E<sub>q</sub>[f]",
        "Histograms of single-sample gradient estimates of each estimator, around the exact gradient (black).",
        f"q = N(&mu;, &sigma;<sup>2</sup>); {SF}", MOHAMED,
        "All are unbiased (centred on the black line); the score function's spread is far wider."),
    "variance-vs-samples": Card(
        "Variance of n-sample averages",
        "The variance of the average of n estimates, measured, against the closed form divided by n (dashed).",
        "Var[(1/n) &sum; g<sub>i</sub>] = Var[g] / n", MOHAMED,
        "The lines are parallel: each estimator needs n times more samples to cut its error &radic;n-fold; the gap "
        "between them is the price of the score function."),
    "variance-means": Card(
        "Mean of the last 8,192 estimates",
        "The running mean of each estimator over its last 8,192 estimates, against the exact gradient.",
        f"(1/8192) &sum; g<sub>i</sub>; {SF}", MOHAMED,
        "Every mean converges to the same exact value: unbiasedness, seen."),
    "discrete-estimates": Card(
        "Estimates of &part;E[f]/&part;logit<sub>1</sub>",
        "Single-sample estimates for a categorical q: the score function, with a baseline, and Gumbel-softmax; "
        "exact value (black, by enumeration).",
        "score function f(c) &nabla;log q(c); Gumbel-softmax: c&#771; = softmax((logits + g)/&tau;), "
        "g ~ Gumbel, gradient through c&#771;", GUMBEL,
        "Gumbel-softmax is not centred on the exact value: it is biased, with low variance."),
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
        "The score-function means converge to the exact gradient; Gumbel-softmax's settles beside it (its bias)."),
    "test-elbo": Card(
        "Test ELBO",
        "The ELBO of held-out images (10 draws each, with its standard error) for one VAE trained three ways.",
        "ELBO = E<sub>q(z|x)</sub>[log p(x|z)] &minus; KL(q &Vert; p); gradients by " + SF, MOHAMED,
        "Same start, same minibatches: the reparameterized VAE leads; the score function without a baseline lags."),
    "vae-curves": Card(
        "Train ELBO", "The training ELBO of the three estimators' VAEs per step.",
        "as in the test ELBO view", MOHAMED,
        "High-variance gradients force small steps: the score function's VAE learns slowly."),
    "ws-curves": Card(
        "Exact test log p(x)",
        "The exact log-likelihood of held-out images for wake-sleep, reweighted wake-sleep and the score-function "
        "ELBO, summed over every latent state.",
        "log p(x) = log &sum;<sub>h</sub> p(x | h) p(h) over all 2<sup>10</sup> states", WS,
        "RWS, whose q is trained on data with importance weights, usually ends above wake-sleep."),
    "posterior-sf-elbo": POSTERIOR, "posterior-rws": POSTERIOR, "posterior-wake-sleep": POSTERIOR,
    "fantasies-sf-elbo": FANTASIES, "fantasies-rws": FANTASIES, "fantasies-wake-sleep": FANTASIES,
}
