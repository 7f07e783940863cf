"""Live numbers of the VAE labs' cards (genviz.core.cards.Equation): −ELBO = reconstruction + KL on the test
images, and the KL split over latent dimensions, from the snapshot the views draw."""
from __future__ import annotations

from genviz.core.cards import Equation, Term, grouped

RECON = r"\mathbb{E}_{q(z|x)}[-\log\, p(x|z)]"
KL = r"\mathrm{KL}(q(z|x)\,\|\,p(z))"


def neg_elbo(data: dict, view: str = "curves", recon_key: str = "recon_nll", kl_key: str = "kl") -> Equation | None:
    """−ELBO = E_q[−log p(x|z)] + KL(q‖p) on the test images of the snapshot (β = 1, the bound itself)."""
    if "test_recon" not in data:
        return None
    n = data.get("test_images", 0)
    how = f"closed form, mean over the {n:,} test images"
    return Equation(
        Term(r"-\mathrm{ELBO}", "negative ELBO (test)", data["test_neg_elbo"], data.get("test_neg_elbo_se"),
             f"{view}#test_neg_elbo", key="test_neg_elbo"),
        (Term(RECON, "reconstruction", data["test_recon"], data.get("test_recon_se"), f"{view}#{recon_key}"),
         Term(KL, "KL to the prior", data["test_kl"], None, f"{view}#{kl_key}", how=how, key="test_kl")),
        title=f"On the {n:,} test images (β = 1: the bound itself); the curves' test point at this step")


def kl_split(kl_dims, view: str, where: str) -> Equation:
    """KL(q‖p) = Σ_j KL_j (closed form per dimension), the largest dimensions each a term."""
    import numpy as np

    v = np.asarray(kl_dims, dtype=np.float64)
    d = len(v)
    terms = grouped(v, [f"dimension {j}" for j in range(d)], [rf"\mathrm{{KL}}_{{{j}}}" for j in range(d)], 5, view,
                    (r"\sum_{\mathrm{rest}}\mathrm{KL}_j", "the other {n} dimensions"), how="closed form")
    return Equation(Term(KL, "KL to the prior, all dimensions", float(v.sum()), None, view, how="closed form"), terms,
                    title=f"Mean over {where}; each dimension's KL is closed form")
