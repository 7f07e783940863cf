"""What a user's own model must offer to take a lab's model's place (``--model-code``), one protocol per
family. A factory named on the command line (``package.module:make`` or ``path/to/file.py:make``) is called
with keyword arguments that describe the lab's data, and returns a ``torch.nn.Module`` with these methods;
everything else (data, training loop, optimiser, views, metrics, timeline, sessions, export) stays the lab's.

The keyword arguments (a factory takes what it needs and ``**kwargs`` for the rest):

- ``shape``: the shape of one data item, e.g. ``(1, 28, 28)`` for images, ``(2,)`` for 2-D points;
- ``data``: ``"binary"`` (the autoregressive lab's images, 0 or 1), ``"unit"`` (the VAE family's, in [0, 1]) or
  ``"points"`` (2-D);
- ``likelihood``: the lab's observation model, ``"bernoulli"`` or ``"gaussian"`` (VAE family);
- ``latent``: the latent size the lab's settings ask for (VAE family; a model may choose its own);
- ``device``: where the lab trains (the lab moves the module there itself).

A model is checked at load on a probe batch (:mod:`genviz.core.model_code`): every method below is called,
and a missing one, a wrong output shape or dtype, a NaN, or a factory that raises is refused with one line.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class VAEModel(Protocol):
    """The VAE family (manifold, posterior, arithmetic): a Gaussian encoder and a decoder.

    - ``encode(x)``: ``x`` [batch, *shape] in [0, 1] -> ``(mu, logvar)``, each [batch, latent_dim], the mean
      and log-variance of the diagonal Gaussian q(z|x);
    - ``decode(z)``: ``z`` [batch, latent_dim] -> [batch, *shape]: the logits of p(x|z) for a Bernoulli
      likelihood, the mean for a Gaussian one (the lab's ``sigma`` setting is its standard deviation);
    - ``latent_dim``: int.
    The prior is N(0, I); the lab trains the ELBO (its beta, warm-up, IWAE) with its own optimiser.
    """

    latent_dim: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class GANModel(Protocol):
    """The GAN lab (2-D points): two networks the lab trains against each other with its own losses,
    optimisers and fixes (R1, WGAN-GP, unrolling).

    - ``generator``: a ``torch.nn.Module``, noise [batch, noise_dim] -> points [batch, 2];
    - ``discriminator``: a ``torch.nn.Module``, points [batch, 2] -> one raw output (a logit, or a critic's
      score for the Wasserstein losses) per point, [batch] or [batch, 1];
    - ``noise_dim``: int. The lab draws the noise (its ``noise`` setting: Gaussian or uniform).
    The two must not share parameters: each has its own optimiser. There is no ``log_prob``: a GAN has none.
    """

    noise_dim: int
    generator: torch.nn.Module
    discriminator: torch.nn.Module


@runtime_checkable
class DenoiserModel(Protocol):
    """The diffusion lab (2-D points): the network the lab's processes and samplers use.

    ``model(x, t)``: points ``x`` [batch, 2] at times ``t`` [batch] in (0, 1] -> [batch, 2], the noise eps that
    made x_t (the VP and VE processes) or the velocity eps - x_0 (flow matching: the lab's ``process``
    setting, which the factory is told as ``process=``). The lab trains it with its own loss and draws the score
    field, the samplers (DDPM, DDIM, SDE, ODE, Langevin) and the test NLL (by the ODE) from it. Unconditional.
    """

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class FlowModel(Protocol):
    """The flow lab (2-D): a normalizing flow pushing the standard normal N(0, I) through layers.

    ``transforms``: a list (or ``nn.ModuleList``) of submodules, each with ``forward(z) -> (x, log|det J|)`` and
    ``inverse(x) -> (z, log|det J^-1|)`` on [batch, 2] (log-dets [batch]). The lab fits them by maximum
    likelihood or by reverse KL to an energy, and shows every layer (the warped grid, the density after layer
    k). Each layer's log-determinant is checked against autograd's Jacobian at load.
    """

    transforms: list


@runtime_checkable
class AutoregressiveModel(Protocol):
    """The autoregressive lab (binary images): p(x) = Π_d p(x_d | the pixels before d), in a declared order.

    - ``logits(x)``: binary images ``x`` [batch, *shape] (floats 0. and 1.) -> [batch, *shape]: for every pixel d at
      once, the logit of p(x_d = 1 | the pixels before d), computed from the true x (teacher forcing);
    - ``order`` (optional): the order pixels are sampled in, a sequence of the D = prod(shape) flat (row-major)
      indices; raster order (0, 1, ..., D - 1) without it;
    - ``log_prob(x)`` (optional) -> [batch]: if the model has one, it must equal Σ_d log Bernoulli(x_d; logits_d).
    At load the lab checks that the conditionals are autoregressive in that order (the gradient of each pixel's
    logit reaches no pixel at or after it in the order): a model that passes is normalised, Σ_x p(x) = 1 exactly,
    and a mask that lets a pixel see itself (the classic PixelCNN bug) is refused, naming the pixel. The lab trains
    it by exact maximum likelihood and samples, completes and draws receptive fields from ``logits`` alone.
    """

    def logits(self, x: torch.Tensor) -> torch.Tensor: ...
