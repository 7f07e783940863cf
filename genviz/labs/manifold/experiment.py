"""The manifold lab's experiment: the VAE family's experiment and the manifold lab's views (pure
core, no Qt)."""
from __future__ import annotations

import numpy as np
import torch

from genviz.core.experiment import to_numpy
from genviz.core.mosaic import tile
from genviz.labs.manifold import LAB
from genviz.vae.aggregate import density_grid, marginal_kl
from genviz.vae.decode import manifold_coords
from genviz.vae.experiment import ACTIVE_UNIT_POINTS, VAEExperiment, elbo_numbers
from genviz.models.vae import active_units

COLLAPSE_KL = 0.05  # nats: below this the posterior carries (almost) no information about x
AGGREGATE_GRID = 80  # the aggregate posterior's density image
AGGREGATE_DRAWS = 2000  # draws of q(z) for KL(q(z) ‖ p(z))


class ManifoldExperiment(VAEExperiment):
    LAB = LAB
    # a click on the latent plane, decoded by the worker for a model the window holds no copy of (your own)
    QUERIES = {"decode": {"z": [0.0, 0.0]}}

    @torch.no_grad()
    def _projection(self, mu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(center, basis [d, 2], scale [2]) of the plane the views show: the latent plane itself
        for d <= 2, else the two leading principal directions of the encoded means."""
        d = mu.shape[1]
        if d == 1:
            return torch.zeros(1), torch.tensor([[1.0, 0.0]]), torch.ones(2)
        if d == 2:
            return torch.zeros(2), torch.eye(2), torch.ones(2)
        center = mu.mean(0)
        _, s, vh = torch.linalg.svd(mu - center, full_matrices=False)
        basis = vh[:2].T.contiguous()
        scale = (s[:2] / max(1.0, (len(mu) - 1) ** 0.5)).clamp_min(1e-3)
        return center, basis, scale

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        if not heavy:
            return {}
        model = self.model.eval()
        mu, logvar = model.encode_params(self.x_eval)
        mu_c, logvar_c = mu.cpu(), logvar.cpu()
        center, basis, scale = self._projection(mu_c)
        points = (mu_c - center) @ basis
        # q(z|x) covariance projected onto the view plane: B^T diag(sigma^2) B, per point
        cov2 = torch.einsum("di,nd,dj->nij", basis, logvar_c.exp(), basis)
        n_au = min(ACTIVE_UNIT_POINTS, len(mu_c))
        au, au_var = active_units(mu_c[:n_au])
        kl_dims = (0.5 * (mu_c.pow(2) + logvar_c.exp() - 1.0 - logvar_c)).mean(0)

        g = int(self.settings["grid"])
        coords = torch.from_numpy(manifold_coords(g)).float()
        gx, gy = torch.meshgrid(coords, coords.flip(0), indexing="xy")  # row 0 = highest z2
        plane = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1) * scale
        z = center + plane @ basis.T
        h, w = self.dataset.shape
        decoded = model.decode_mean(z.to(self.device)).reshape(-1, h, w)
        # small images (8x8 digits) blur into stripes without a separator between tiles
        pad = 1 if h <= 16 else 0
        mosaic = tile(to_numpy(decoded), g, g, pad=pad, fill=0.35)

        # the decoded prior mean (or the plane's centre): the preview before any click, drawn without the
        # worker for a model the window holds no copy of, and in exports
        preview = model.decode_mean(center[None].to(self.device)).reshape(h, w)
        test_terms = model.elbo_terms(self.x_test[:1000])
        return {
            "manifold": (mosaic * 255).round().astype(np.uint8),
            "preview": (to_numpy(preview) * 255).round().astype(np.uint8),
            "grid": g,
            "points": to_numpy(points), "cov2": to_numpy(cov2),
            "center": to_numpy(center), "basis": to_numpy(basis), "scale": to_numpy(scale),
            "kl_dims": to_numpy(kl_dims), "au_var": to_numpy(au_var), "active_units": au,
            "test_neg_elbo": float(-test_terms["elbo"].mean()),
            **elbo_numbers(test_terms),
            "collapsed": bool(float(kl_dims.sum()) < COLLAPSE_KL and self.step_count > 200
                              and self.beta_now() > 0),
            "decoder": model.decoder_layers(),
            **(self.aggregate(mu_c[:n_au], logvar_c[:n_au], to_numpy(points[:n_au]), to_numpy(cov2[:n_au]),
                              to_numpy(center @ basis)) if self.settings["aggregate"] else {}),
        }

    def aggregate(self, mu, logvar, points, cov2, prior_at) -> dict:
        """The aggregate posterior of the first 500 evaluation points: its density in the view's plane and the KL
        term split into mutual information and KL(q(z) ‖ p(z)) (genviz.vae.aggregate), from a stream of its own."""
        lim = float(max(3.5, 1.1 * np.abs(points).max(initial=0.0), 1.1 * np.abs(prior_at).max() + 3.0))
        extent = (-lim, lim, -lim, lim)
        g = torch.Generator().manual_seed(1_000_003 * self.seed + self.step_count)
        return {"aggregate": {"density": density_grid(points, cov2, extent, AGGREGATE_GRID), "extent": extent,
                              # the prior's centre in the plane (it is N(0, I) in z; the plane is centred on the means)
                              "prior_at": -np.asarray(prior_at, np.float64),
                              **marginal_kl(mu, logvar, AGGREGATE_DRAWS, g)}}

