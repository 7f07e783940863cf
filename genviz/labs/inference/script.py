"""The inference lab's runs as plain PyTorch scripts (``genviz export SESSION --format py``): each of its
experiments (reverse and forward KL fits on a grid, EM, CAVI beside Gibbs and MAP-EM, mean field) as
:class:`genviz.labs.inference.experiment.InferenceExperiment` runs it."""
from __future__ import annotations

from genviz.core.script import Script, ScriptError, ScriptRun, header_part, loop_part, settings_code
from genviz.labs.inference import LAB
from genviz.labs.inference import experiment as inf_experiment
from genviz.models import vi

TITLES = {
    "kl": "q fitted to p by reverse KL(q || p) and by forward KL(p || q)",
    "em": "EM on a symmetric mixture of two Gaussians, one half step per step",
    "cavi": "CAVI for a Bayesian mixture of Gaussians, beside Gibbs sampling and MAP-EM",
    "meanfield": "Mean-field coordinate ascent on a correlated Gaussian",
}
PAPERS = {
    "kl": "Both KLs by quadrature on a grid over the box that holds p and q, minimised by Adam (Bishop 2006, §10.1.2; "
          "Murphy 2012, §21.2.2).",
    "em": "Dempster, Laird & Rubin (1977); the bound L(q; theta) of Neal & Hinton (1998).",
    "cavi": "Blei, Kucukelbir & McAuliffe (2017), §3; Bishop (2006), §10.2.",
    "meanfield": "Bishop (2006), §10.1.2, figure 10.2.",
}
STEPS = {
    "kl": """
        set_target(s["means"])
        g = torch.Generator().manual_seed(SEED)
        start = (torch.rand(s["components"], 2, generator=g, dtype=torch.float64) - 0.5) * 2.0
        q_rev = GaussianMixtureQ(s["components"], means=start, scale=1.0)  # fitted by reverse KL
        q_fwd = GaussianMixtureQ(s["components"], means=start, scale=1.0)  # fitted by forward KL
        opt_rev = torch.optim.Adam(q_rev.parameters(), lr=s["lr"])
        opt_fwd = torch.optim.Adam(q_fwd.parameters(), lr=s["lr"])


        def q_cover(q):
            with torch.no_grad():
                return gaussian_cover(q.means.numpy(), q.covs().numpy())


        def p_grid(cover, n):
            # the grid over the box holding p and q, rounded out to whole units, and log p on it
            x0, x1, y0, y1 = union_extent(p_cover, cover)
            grid = Grid2D((math.floor(x0), math.ceil(x1), math.floor(y0), math.ceil(y1)), n)
            return grid, log_p_fn(grid.points)


        def train_step(step_count):
            opt_rev.zero_grad()
            grid, lp = p_grid(q_cover(q_rev), GRID_N)
            rev = kl_on_grid(q_rev.log_prob(grid.points), lp, grid.area)  # KL(q || p)
            rev.backward()
            opt_rev.step()
            opt_fwd.zero_grad()
            grid, lp = p_grid(q_cover(q_fwd), GRID_N)
            fwd = kl_on_grid(lp, q_fwd.log_prob(grid.points), grid.area)  # KL(p || q)
            fwd.backward()
            opt_fwd.step()
            return {"loss": float(rev.detach()), "kl_reverse_fit": float(rev.detach()),
                    "kl_forward_fit": float(fwd.detach())}


        def on_setting(name, value, step_count):
            if name == "lr":
                for opt in (opt_rev, opt_fwd):
                    for group in opt.param_groups:
                        group["lr"] = value
            elif name == "means":
                set_target(value)
        """,
    "em": """
        x = np.where(rng.random(EM_POINTS) < 0.5, s["em_true"], -s["em_true"]) + rng.normal(size=EM_POINTS)
        model = SymmetricMixture1D(x)
        theta = float(s["em_theta0"])
        r = np.full(EM_POINTS, 0.5)  # q before the first E step
        next_half = "E"


        def train_step(step_count):
            global theta, r, next_half
            if next_half == "E":  # q = p(z | x; theta), or the restricted family's best
                r = model.posterior(theta) if s["em_q"] == "exact" else model.restricted_posterior(theta)
                next_half = "M"
            else:  # theta = argmax L(q; theta)
                theta = model.m_step(r)
                next_half = "E"
            log_px = float(model.log_px(theta)[0])
            bound = float(model.bound(theta, r)[0])
            return {"loss": -log_px, "log_px": log_px, "bound": bound, "theta": theta}


        def on_setting(name, value, step_count):
            pass
        """,
    "cavi": """
        centres = rng.uniform(-7, 7, (s["clusters"], 2))
        truth = rng.integers(0, s["clusters"], s["points"])
        x = centres[truth] + rng.normal(size=(s["points"], 2))
        cavi = BayesGMM(x, s["k"], s["prior_var"], seed=SEED)
        gibbs = GibbsGMM(x, s["k"], s["prior_var"], rng=rng, init=cavi.m)  # from CAVI's start
        em = MapEMGMM(x, s["k"], s["prior_var"], init=cavi.m)
        next_block = "c"


        def train_step(step_count):
            global next_block
            if next_block == "c":  # the assignments
                cavi.update_phi()
                gibbs.sweep_c()
                em.e_step()
                next_block = "mu"
            else:  # the means
                cavi.update_mu()
                gibbs.sweep_mu()
                em.m_step()
                next_block = "c"
            elbo = cavi.elbo()
            return {"loss": -elbo, "elbo": elbo, "em_log_posterior": em.log_posterior(),
                    "gibbs_log_joint": gibbs.log_joint()}


        def on_setting(name, value, step_count):
            pass
        """,
    "meanfield": """
        rho = s["correlation"]
        mf = MeanFieldGaussian((0.0, 0.0), np.array([[1.0, rho], [rho, 1.0]]), start=(-2.5, 2.0))


        def train_step(step_count):
            mf.update()  # one factor's coordinate-ascent update
            kl = mf.kl_reverse()
            return {"loss": kl, "kl_reverse": kl}


        def on_setting(name, value, step_count):
            pass
        """,
}


def script(run: ScriptRun) -> Script:
    s = run.settings
    kind = s["experiment"]
    if kind == "cavi" and s["data"] not in ("", "blobs"):
        raise ScriptError(f"cavi on the points of {s['data']!r}: a script writes the lab's own blobs")
    out = Script(TITLES[kind], f"Written by genviz from a session of its inference lab ({kind}): {run.steps} steps, "
                 f"seed {run.seed}. {PAPERS[kind]} Run it with `python` (torch and numpy only): it prints one JSON "
                 "line per step, the session's metric rows.")
    header_part(out, run)
    out.part("Settings", settings_code(s, [spec.name for spec in LAB.settings]))
    out.part("Random streams", """
        torch.manual_seed(SEED)
        rng = np.random.default_rng(SEED)
        """)
    if kind == "kl":
        out.part("The target p", """
            def set_target(means_text):
                # p as a function of points, exactly normalized, and the box that holds its mass
                global log_p_fn, p_cover
                target = s["target"]
                if target == "banana":
                    log_p_fn, p_cover = banana_log_prob, BANANA_COVER
                    return
                weights, default, covs, _ = TARGETS[target]
                means = parse_means(means_text, len(weights)) if means_text else default
                log_p_fn = lambda z: mixture_log_prob(z, weights, means, covs)  # noqa: E731
                p_cover = gaussian_cover(means, covs)
            """, uses=(inf_experiment, vi))
    out.part("One step", STEPS[kind], uses=(inf_experiment, vi))
    loop_part(out, run, "train_step(step - 1)")
    return out
