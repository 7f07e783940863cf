"""A user's model (``--model-code``) behind the interface a lab's own model has, and the check it passes at load.

The check calls every method of the family's protocol (``genviz.models.protocols``) on a probe batch of the
lab's own data and refuses, in one line, a missing method, a wrong output shape or dtype, a non-finite value,
a model without trainable parameters, or a loss that does not reach them; a factory that raises is said the
same way. Nothing of the lab's running model is touched: the worker builds a new experiment to try it."""
from __future__ import annotations

import math

import torch
from torch import nn

from genviz.core.model_code import ModelCode, ModelCodeError, load_factory
from genviz.models.vae import VAE

PROBE = 4  # data items in the probe batch


def _fail(code: ModelCode, text: str) -> ModelCodeError:
    return ModelCodeError(f"model code {code.spec}: {text}")


def _shape(t) -> str:
    return f"[{', '.join(map(str, t.shape))}]" if isinstance(t, torch.Tensor) else type(t).__name__


def _tensor(code: ModelCode, what: str, value, shape: tuple[int, ...]) -> torch.Tensor:
    """``value`` must be a floating tensor of ``shape``, every element finite."""
    if not isinstance(value, torch.Tensor):
        raise _fail(code, f"{what} returned {type(value).__name__}, not a tensor")
    if not value.is_floating_point():
        raise _fail(code, f"{what} returned a {value.dtype} tensor; a floating one is needed")
    if tuple(value.shape) != tuple(shape):
        raise _fail(code, f"{what} returned shape {_shape(value)}, expected [{', '.join(map(str, shape))}]")
    if not torch.isfinite(value).all():
        raise _fail(code, f"{what} returned non-finite values (NaN or inf) on the probe batch")
    return value


def build_module(code: ModelCode, **kwargs) -> nn.Module:
    """Call the factory with the lab's data description; it must return a torch.nn.Module."""
    factory = load_factory(code)
    try:
        module = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's code: said in one line
        raise _fail(code, f"the factory raised {type(exc).__name__}: {exc}") from None
    if not isinstance(module, nn.Module):
        raise _fail(code, f"the factory returned {type(module).__name__}, not a torch.nn.Module")
    if not any(p.requires_grad for p in module.parameters()):
        raise _fail(code, "the model has no trainable parameters")
    return module


class UserVAE(VAE):
    """A user's VAE (``encode(x) -> (mu, logvar)``, ``decode(z)``, ``latent_dim``) as the VAE family's labs use
    a VAE: on flat data [batch, D] (reshaped to the model's item shape and back), with the lab's likelihood,
    prior N(0, I), ELBO, IWAE bound and sampling. ``decoder_layers`` is None: the window decodes a click by
    asking the worker, as it cannot copy arbitrary code into numpy."""

    def __init__(self, net: nn.Module, shape: tuple[int, ...], likelihood: str = "bernoulli", sigma: float = 0.1):
        nn.Module.__init__(self)
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be bernoulli or gaussian, got {likelihood!r}")
        self.net = net
        self.shape = tuple(int(s) for s in shape)
        self.x_dim, self.latent = math.prod(self.shape), int(net.latent_dim)
        self.likelihood, self.sigma, self.activation = likelihood, float(sigma), "user"

    def encode_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lead = x.shape[:-1]
        mu, logvar = self.net.encode(x.reshape(-1, *self.shape))
        return mu.reshape(*lead, self.latent), logvar.reshape(*lead, self.latent).clamp(-12.0, 8.0)

    def decoder_out(self, z: torch.Tensor) -> torch.Tensor:
        lead = z.shape[:-1]
        return self.net.decode(z.reshape(-1, self.latent)).reshape(*lead, self.x_dim)

    def decoder_layers(self) -> None:
        return None

    def describe(self) -> str:
        n = sum(p.numel() for p in self.net.parameters())
        return f"{type(self.net).__name__} ({n:,} parameters)"


def load_vae(code: ModelCode, shape: tuple[int, ...], likelihood: str, sigma: float, latent: int,
             probe: torch.Tensor, device: str = "cpu") -> UserVAE:
    """The user's VAE, checked on ``probe`` (flat data [n, D] of the lab's own) on the CPU; the lab moves it to
    ``device`` (which the factory is told, as the lab's other data)."""
    module = build_module(code, shape=tuple(shape), likelihood=likelihood, latent=int(latent), device=str(device))
    for name in ("encode", "decode"):
        if not callable(getattr(module, name, None)):
            raise _fail(code, f"the model has no method {name}() (a VAE needs encode(x) -> (mu, logvar) and decode(z))")
    d = getattr(module, "latent_dim", None)
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise _fail(code, f"the model's latent_dim must be a positive int, not {d!r}")
    x = probe[:PROBE].detach().cpu().float()
    n = len(x)
    try:
        out = module.encode(x.reshape(n, *shape))
    except Exception as exc:  # noqa: BLE001
        raise _fail(code, f"encode(x) raised {type(exc).__name__}: {exc} (x: [{n}, {', '.join(map(str, shape))}])") \
            from None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise _fail(code, f"encode(x) returned {type(out).__name__}; it must return (mu, logvar)")
    mu = _tensor(code, "encode(x)'s mu", out[0], (n, d))
    _tensor(code, "encode(x)'s logvar", out[1], (n, d))
    try:
        xr = module.decode(mu)
    except Exception as exc:  # noqa: BLE001
        raise _fail(code, f"decode(z) raised {type(exc).__name__}: {exc} (z: [{n}, {d}])") from None
    _tensor(code, "decode(z)", xr, (n, *shape))
    vae = UserVAE(module, shape, likelihood, sigma)
    try:
        loss, _ = vae.loss(x)
        loss.backward()
    except Exception as exc:  # noqa: BLE001
        raise _fail(code, f"the ELBO's backward pass failed: {type(exc).__name__}: {exc}") from None
    if not torch.isfinite(loss):
        raise _fail(code, "the ELBO is not finite on the probe batch")
    if not any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters()):
        raise _fail(code, "the ELBO's gradient reaches none of the model's parameters")
    module.zero_grad(set_to_none=True)
    return vae
