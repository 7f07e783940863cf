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
from genviz.models.autoregressive import Autoregressive, bernoulli_log_prob
from genviz.models.diffusion import DiffusionModel, Process
from genviz.models.flows import Flow
from genviz.models.gan import Discriminator, Generator
from genviz.models.vae import VAE

PROBE = 4  # data items in the probe batch


def _fail(code: ModelCode, text: str) -> ModelCodeError:
    return ModelCodeError(f"model code {code.spec}: {text}")


def _shape(t) -> str:
    return f"[{', '.join(map(str, t.shape))}]" if isinstance(t, torch.Tensor) else type(t).__name__


def _tensor(who: str, what: str, value, shape: tuple[int, ...]) -> torch.Tensor:
    """``value`` must be a floating tensor of ``shape``, every element finite."""
    def fail(text: str) -> ModelCodeError:
        return ModelCodeError(f"{who}: {text}")

    if not isinstance(value, torch.Tensor):
        raise fail(f"{what} returned {type(value).__name__}, not a tensor")
    if not value.is_floating_point():
        raise fail(f"{what} returned a {value.dtype} tensor; a floating one is needed")
    if tuple(value.shape) != tuple(shape):
        raise fail(f"{what} returned shape {_shape(value)}, expected [{', '.join(map(str, shape))}]")
    if not torch.isfinite(value).all():
        raise fail(f"{what} returned non-finite values (NaN or inf) on the probe batch")
    return value


def _trains(module: nn.Module, who: str, what: str, objective) -> None:
    """``objective()`` (the lab's loss on the probe batch, a scalar) is finite and its gradient reaches the module's
    parameters; the gradients are cleared after. ``what`` names it in the one line a fault gives ("the ELBO")."""
    try:
        loss = objective()
        loss.backward()
    except Exception as exc:  # noqa: BLE001 - the user's code: said in one line
        raise ModelCodeError(f"{who}: {what}'s backward pass failed: {type(exc).__name__}: {exc}") from None
    if not torch.isfinite(loss):
        raise ModelCodeError(f"{who}: {what} is not finite on the probe batch")
    if not any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters()):
        raise ModelCodeError(f"{who}: {what}'s gradient reaches none of the model's parameters")
    module.zero_grad(set_to_none=True)


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
    module = build_module(code, shape=tuple(shape), data="unit", likelihood=likelihood, latent=int(latent),
                          device=str(device))
    return check_vae(module, f"model code {code.spec}", shape, likelihood, sigma, probe)


def check_vae(module: nn.Module, who: str, shape: tuple[int, ...], likelihood: str, sigma: float,
              probe: torch.Tensor, backward: bool = True) -> UserVAE:
    """``module`` checked as a VAE (``genviz.models.protocols.VAEModel``) on ``probe`` (flat data [n, D]), on the
    module's own device, and wrapped for the lab. ``who`` starts each message ("model code FILE:make", "your
    model"). Without ``backward`` (a model in the user's own training loop: its gradients are the user's) only
    the forward pass is tried, without gradients."""
    def fail(text: str) -> ModelCodeError:
        return ModelCodeError(f"{who}: {text}")

    if not isinstance(module, nn.Module):
        raise fail(f"a {type(module).__name__}, not a torch.nn.Module")
    for name in ("encode", "decode"):
        if not callable(getattr(module, name, None)):
            raise fail(f"the model has no method {name}() (a VAE needs encode(x) -> (mu, logvar) and decode(z))")
    d = getattr(module, "latent_dim", None)
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise fail(f"the model's latent_dim must be a positive int, not {d!r}")
    params = list(module.parameters())
    device = params[0].device if params else torch.device("cpu")
    x = probe[:PROBE].detach().to(device).float()
    n = len(x)
    with torch.set_grad_enabled(backward):
        try:
            out = module.encode(x.reshape(n, *shape))
        except Exception as exc:  # noqa: BLE001
            raise fail(f"encode(x) raised {type(exc).__name__}: {exc} (x: [{n}, {', '.join(map(str, shape))}])") \
                from None
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise fail(f"encode(x) returned {type(out).__name__}; it must return (mu, logvar)")
        mu = _tensor(who, "encode(x)'s mu", out[0], (n, d))
        _tensor(who, "encode(x)'s logvar", out[1], (n, d))
        try:
            xr = module.decode(mu)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"decode(z) raised {type(exc).__name__}: {exc} (z: [{n}, {d}])") from None
        _tensor(who, "decode(z)", xr, (n, *shape))
    vae = UserVAE(module, shape, likelihood, sigma)
    if not backward:
        return vae
    _trains(module, who, "the ELBO", lambda: vae.loss(x)[0])
    return vae


class UserGenerator(Generator):
    """A user's generator (``model.generator``: noise [n, noise_dim] -> points [n, 2]) with the lab's noise
    distribution, as the GAN lab's own Generator (its ``sample_noise``, ``rsample``, ``sample``)."""

    def __init__(self, net: nn.Module, noise_dim: int, noise: str = "gaussian"):
        nn.Module.__init__(self)
        if noise not in ("gaussian", "uniform"):
            raise ValueError(f"noise must be gaussian or uniform, got {noise!r}")
        self.net, self.noise_dim, self.noise = net, int(noise_dim), noise


class UserDiscriminator(Discriminator):
    """A user's discriminator (``model.discriminator``: points [n, 2] -> one raw output each, [n] or [n, 1]) as
    the GAN lab's own Discriminator, unpacked (PacGAN's packing belongs to the lab's own network)."""

    def __init__(self, net: nn.Module):
        nn.Module.__init__(self)
        self.net, self.pack, self.in_dim = net, 1, 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(len(x))


def load_gan(code: ModelCode, noise: str, probe: torch.Tensor, device: str = "cpu") -> tuple[UserGenerator,
                                                                                            UserDiscriminator]:
    """The user's GAN (``genviz.models.protocols.GANModel``): its generator and discriminator, each checked on a
    probe (noise of its ``noise_dim``; ``probe``, points of the lab's data), wrapped for the lab."""
    who = f"model code {code.spec}"

    def fail(text: str) -> ModelCodeError:
        return ModelCodeError(f"{who}: {text}")

    module = build_module(code, shape=(2,), data="points", device=str(device))
    parts = {}
    for name in ("generator", "discriminator"):
        part = getattr(module, name, None)
        if not isinstance(part, nn.Module):
            raise fail(f"the model's {name} must be a torch.nn.Module attribute (model.{name}(…)), "
                       f"not {type(part).__name__}: the lab trains each with its own optimiser")
        if not any(p.requires_grad for p in part.parameters()):
            raise fail(f"the model's {name} has no trainable parameters")
        parts[name] = part
    g_ids = {id(p) for p in parts["generator"].parameters()}
    if any(id(p) in g_ids for p in parts["discriminator"].parameters()):
        raise fail("the generator and the discriminator share parameters; each needs its own")
    d = getattr(module, "noise_dim", None)
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise fail(f"the model's noise_dim must be a positive int, not {d!r}")
    n = PROBE
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(0))
    for name, arg, shape, what in (("generator", z, (n, 2), f"generator(z) (z: [{n}, {d}])"),
                                   ("discriminator", probe[:n].float(), None, f"discriminator(x) (x: [{n}, 2])")):
        try:
            out = parts[name](arg)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"{what} raised {type(exc).__name__}: {exc}") from None
        if shape is None:  # one raw output per point: [n] or [n, 1]
            if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 1):
                out = out[:, 0]
            shape = (n,)
        _tensor(who, what.split(" (")[0], out, shape)
    return UserGenerator(parts["generator"], d, noise), UserDiscriminator(parts["discriminator"])


class UserDenoiser(DiffusionModel):
    """A user's network ``net(x [n, 2], t [n]) -> [n, 2]`` (the noise eps for the VP and VE processes, the velocity
    eps - x_0 for flow matching) as the diffusion lab's model: its loss, score, probability-flow velocity and every
    sampler are the lab's own. Unconditional (classifier-free guidance needs the lab's own labelled network)."""

    def __init__(self, net: nn.Module, process: str):
        nn.Module.__init__(self)
        self.process, self.classes, self.guide, self.user = Process(process), 0, None, net

    def _net(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.user(x, t.expand(len(x)) if t.numel() == 1 else t)


def load_denoiser(code: ModelCode, process: str, probe: torch.Tensor, device: str = "cpu") -> UserDenoiser:
    """The user's diffusion network (``genviz.models.protocols.DenoiserModel``), checked on ``probe`` (points of
    the lab's data) at a few times, and its training loss's gradient, wrapped for the lab."""
    who = f"model code {code.spec}"
    module = build_module(code, shape=(2,), data="points", process=process, device=str(device))
    n = PROBE
    x = probe[:n].float()
    t = torch.linspace(0.1, 0.9, n)
    try:
        out = module(x, t)
    except Exception as exc:  # noqa: BLE001
        raise ModelCodeError(f"{who}: model(x, t) raised {type(exc).__name__}: {exc} (x: [{n}, 2], t: [{n}])") from None
    _tensor(who, "model(x, t)", out, (n, 2))
    model = UserDenoiser(module, process)
    _trains(module, who, "the loss", lambda: model.loss(x, generator=torch.Generator().manual_seed(0))[0].mean())
    return model


class UserFlow(Flow):
    """A user's flow (``model.transforms``: layers, each ``forward(z) -> (x, log|det J|)`` and
    ``inverse(x) -> (z, log|det J⁻¹|)``, pushing N(0, I) on 2-D) as the flow lab's Flow: its log_prob, samples,
    reverse-KL fit and every layer of the views."""

    def __init__(self, net: nn.Module):
        nn.Module.__init__(self)
        self.net, self.dim = net, 2
        self.__dict__["transforms"] = list(net.transforms)  # (the layers' parameters are the net's)
        self.register_buffer("_loc", torch.zeros(2))


class DistributionLayer:
    """One transform of a torch ``Distribution`` flow as the flow lab's layer: ``layer(z) -> (x, log|det J|)`` from
    the base towards the data and ``layer.inverse(x) -> (z, log|det J⁻¹|)``, each log-det [n]. ``towards_base``: the
    transform maps data to base (zuko's ``NormalizingFlow.transform``), not base to data (torch's
    ``TransformedDistribution.transforms``)."""

    def __init__(self, transform, towards_base: bool):
        self.t, self.towards_base = transform, towards_base

    @staticmethod
    def _ladj(t, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ld = t.log_abs_det_jacobian(a, b)
        return ld.reshape(len(a), -1).sum(1) if ld.dim() > 1 else ld.expand(len(a))

    def __call__(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.towards_base:
            x = self.t.inv(z)
            return x, -self._ladj(self.t, x, z)
        x = self.t(z)
        return x, self._ladj(self.t, z, x)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.towards_base:
            z = self.t(x)
            return z, self._ladj(self.t, x, z)
        z = self.t.inv(x)
        return z, -self._ladj(self.t, z, x)


def distribution_layers(dist) -> tuple[list, object] | None:
    """The layers (base to data) and the base of a flow given as a torch ``Distribution``: zuko's
    ``NormalizingFlow`` (``transform``, data to base, and ``base``) or torch's ``TransformedDistribution``
    (``transforms``, base to data, and ``base_dist``); None for another distribution."""
    from torch.distributions import ComposeTransform, TransformedDistribution

    if isinstance(dist, TransformedDistribution):
        ts = [p for t in dist.transforms for p in (t.parts if isinstance(t, ComposeTransform) else [t])]
        return [DistributionLayer(t, towards_base=False) for t in ts], dist.base_dist
    transform, base = getattr(dist, "transform", None), getattr(dist, "base", None)
    if transform is not None and base is not None and hasattr(transform, "inv"):
        ts = list(getattr(transform, "transforms", None) or [transform])  # zuko's ComposedTransform, or one
        return [DistributionLayer(t, towards_base=True) for t in reversed(ts)], base
    return None


class DistributionFlow(Flow):
    """A user's flow given as a module that returns a torch ``Distribution`` when called (zuko's flows:
    ``zuko.flows.NSF(2)()``; or a ``TransformedDistribution`` built from its parameters) as the flow lab's Flow:
    log_prob and samples are the distribution's own; its transforms are the layers the views walk."""

    def __init__(self, net: nn.Module):
        nn.Module.__init__(self)
        self.net, self.dim = net, 2
        self.register_buffer("_loc", torch.zeros(2))

    @property
    def transforms(self) -> list:  # rebuilt from a fresh distribution: a zuko flow builds one per call
        return distribution_layers(self.net())[0]

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.net().log_prob(x)

    def rsample_and_log_prob(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        dist = self.net()
        if callable(getattr(dist, "rsample_and_log_prob", None)):
            return dist.rsample_and_log_prob((n,))
        x = dist.rsample((n,))
        return x, dist.log_prob(x)


def _as_flow(module: nn.Module, fail) -> Flow:
    """The user's module as the lab's Flow: layers of its own (``transforms``), or a Distribution it returns."""
    layers = getattr(module, "transforms", None)
    if layers is not None:
        if not isinstance(layers, (list, tuple, nn.ModuleList)) or not len(layers):
            raise fail("its transforms must be a non-empty list (or nn.ModuleList) of layers, each with forward(z) -> "
                       "(x, logdet) and inverse(x) -> (z, logdet)")
        if any(id(m) not in {id(c) for c in module.modules()} for m in layers if isinstance(m, nn.Module)):
            raise fail("its transforms must be submodules of the model (their parameters are trained)")
        return UserFlow(module)
    try:
        dist = module()
    except Exception:  # noqa: BLE001 - not a distribution's factory: said below
        dist = None
    if not isinstance(dist, torch.distributions.Distribution):
        raise fail("the model needs transforms (a list of its layers, each with forward(z) -> (x, logdet) and "
                   "inverse(x) -> (z, logdet)), or to return a torch Distribution when called, as zuko's flows do")
    found = distribution_layers(dist)
    if found is None or not found[0]:
        raise fail(f"model() returned a {type(dist).__name__}; the flow lab draws every layer, so it needs a "
                   "normalizing flow whose transforms it can reach (a zuko flow, or a torch TransformedDistribution)")
    base, z = found[1], torch.randn(PROBE, 2, generator=torch.Generator().manual_seed(1))
    try:
        standard = torch.allclose(base.log_prob(z), Flow([]).base.log_prob(z), atol=1e-4)
    except Exception:  # noqa: BLE001
        standard = False
    if not standard:
        raise fail(f"its base distribution ({type(base).__name__}) is not the standard normal N(0, I) on 2-D that "
                   "the lab's layer views start from")
    return DistributionFlow(module)


def load_flow(code: ModelCode, probe: torch.Tensor, device: str = "cpu") -> Flow:
    """The user's flow (``genviz.models.protocols.FlowModel``: layers of its own, or a torch Distribution such as a
    zuko flow), checked on ``probe`` (points of the lab's data): each layer's shapes, its inverse undoing its
    forward, its log|det J| against autograd's Jacobian, and their sum against the flow's own log_prob."""
    who = f"model code {code.spec}"

    def fail(text: str) -> ModelCodeError:
        return ModelCodeError(f"{who}: {text}")

    module = build_module(code, shape=(2,), data="points", device=str(device))
    flow = _as_flow(module, fail)
    n = PROBE
    x0 = probe[:n].detach().float().clone()
    z = x0
    for k, layer in enumerate(flow.transforms, start=1):
        for name in ("__call__", "inverse"):
            if not callable(getattr(layer, name, None)):
                raise fail(f"layer {k} has no {'forward' if name == '__call__' else name}()")
        try:
            x, ld = layer(z)
            back, ld_inv = layer.inverse(x)
        except Exception as exc:  # noqa: BLE001
            raise fail(f"layer {k} raised {type(exc).__name__}: {exc} (z: [{n}, 2])") from None
        _tensor(who, f"layer {k}'s forward", x, (n, 2))
        _tensor(who, f"layer {k}'s forward log|det J|", ld, (n,))
        _tensor(who, f"layer {k}'s inverse", back, (n, 2))
        _tensor(who, f"layer {k}'s inverse log|det J|", ld_inv, (n,))
        if not torch.allclose(back, z, atol=1e-3, rtol=1e-3):
            raise fail(f"layer {k}'s inverse does not undo its forward (off by up to "
                       f"{float((back.detach() - z).abs().max()):.3g} on the probe points)")
        exact = torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(
            lambda p, layer=layer: layer(p[None])[0][0], z[i]))[1] for i in range(n)])
        if not torch.allclose(ld.detach(), exact, atol=1e-3, rtol=1e-3):
            raise fail(f"layer {k}'s log|det J| is not its Jacobian's (off by up to "
                       f"{float((ld.detach() - exact).abs().max()):.3g} nats against autograd)")
        if not torch.allclose(ld_inv.detach(), -ld.detach(), atol=1e-3, rtol=1e-3):
            raise fail(f"layer {k}'s inverse log|det| is not minus its forward one")
        z = x.detach()
    with torch.no_grad():  # the layers' sum is the flow's own log_prob (for a Distribution: the adapter is right)
        layered = Flow.log_prob(flow, x0)
        own = flow.log_prob(x0)
    if not torch.allclose(layered, own, atol=1e-3, rtol=1e-3):
        raise fail(f"its log_prob is not the base's plus its layers' log-dets (off by up to "
                   f"{float((layered - own).abs().max()):.3g} nats)")
    _trains(module, who, "the likelihood", lambda: -flow.log_prob(x0).mean())
    return flow


class UserAutoregressive(Autoregressive):
    """A user's autoregressive model (``logits(x)`` on binary images [n, *shape], an optional ``order``) as the
    autoregressive lab's models are: on flat images [n, D], with the lab's log_prob (the chain rule over the
    Bernoulli conditionals), per-pixel NLL, sampling and completion pixel by pixel in the order, and receptive
    fields from its gradients."""

    def __init__(self, net: nn.Module, shape: tuple[int, ...], order: torch.Tensor):
        super().__init__()
        self.net, self.shape = net, tuple(int(s) for s in shape)
        self.D = math.prod(self.shape)
        self.register_buffer("order", order.long().clone())

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.logits(x.reshape(-1, *self.shape)).reshape(len(x), self.D)


CAUSAL_PIXELS = 64  # pixels whose conditionals' inputs are checked at load when D is larger (all of them up to 256)


def load_autoregressive(code: ModelCode, shape: tuple[int, ...], probe: torch.Tensor,
                        device: str = "cpu") -> UserAutoregressive:
    """The user's autoregressive model (``genviz.models.protocols.AutoregressiveModel``) on binary images of
    ``shape`` (``probe``: flat binary images [n, D] of the lab's data), checked: shapes, a permutation for an order,
    log_prob (if any) equal to the chain rule, and every conditional autoregressive in that order."""
    module = build_module(code, shape=tuple(shape), data="binary", device=str(device))
    return check_autoregressive(module, f"model code {code.spec}", shape, probe)


def check_autoregressive(module: nn.Module, who: str, shape: tuple[int, ...],
                         probe: torch.Tensor) -> UserAutoregressive:
    def fail(text: str) -> ModelCodeError:
        return ModelCodeError(f"{who}: {text}")

    D = math.prod(shape)
    if not callable(getattr(module, "logits", None)):
        raise fail("the model has no method logits() (an autoregressive model needs logits(x): for every pixel, the "
                   "logit of p(x_d = 1 | the pixels before d))")
    order = getattr(module, "order", None)
    try:
        order = torch.arange(D) if order is None else torch.as_tensor(order).reshape(-1).long().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise fail(f"its order must be a sequence of the {D} pixel indices, not {type(order).__name__}") from None
    if len(order) != D or not torch.equal(order.sort().values, torch.arange(D)):
        raise fail(f"its order must be a permutation of the {D} pixel indices 0..{D - 1} (row-major); it has "
                   f"{len(order)} values{'' if len(order) != D else ', some repeated'}")
    model = UserAutoregressive(module, shape, order)
    params = list(module.parameters())
    x = probe[:PROBE].detach().to(params[0].device).float().clone().requires_grad_(True)
    n = len(x)
    try:
        out = module.logits(x.reshape(n, *shape))
    except Exception as exc:  # noqa: BLE001
        raise fail(f"logits(x) raised {type(exc).__name__}: {exc} (x: [{n}, {', '.join(map(str, shape))}])") from None
    logits = _tensor(who, "logits(x)", out, (n, *shape)).reshape(n, D)
    rank = torch.empty(D, dtype=torch.long)
    rank[order] = torch.arange(D)
    checked = order if D <= 4 * CAUSAL_PIXELS else order[torch.linspace(0, D - 1, CAUSAL_PIXELS).round().long()]
    for d in checked.tolist():  # the pixels d's logit depends on must all come before d in the order
        (grad,) = torch.autograd.grad(logits[:, d].sum(), x, retain_graph=True, allow_unused=True)
        if grad is None:
            continue
        seen = grad.abs().sum(0).cpu()
        leak = (seen > 1e-6 * max(float(seen.max()), 1e-30)) & (rank >= rank[d])
        if leak.any():
            e = int(leak.nonzero()[0])
            at = (lambda i: f"{i} (row {i // shape[-1]}, column {i % shape[-1]})") if len(shape) >= 2 else str
            which = "itself" if e == d else f"pixel {at(e)}, which comes {'after' if rank[e] > rank[d] else 'at'} it"
            raise fail(f"pixel {at(d)}'s conditional depends on {which} in the order: not autoregressive "
                       f"({int(leak.sum())} such input{'s' if int(leak.sum()) > 1 else ''}; a mask that lets a pixel "
                       "see itself or later pixels)")
    total = bernoulli_log_prob(logits, x.detach()).sum(-1)
    if callable(getattr(module, "log_prob", None)):
        try:
            theirs = module.log_prob(x.detach().reshape(n, *shape))
        except Exception as exc:  # noqa: BLE001
            raise fail(f"log_prob(x) raised {type(exc).__name__}: {exc}") from None
        theirs = _tensor(who, "log_prob(x)", theirs, (n,))
        if not torch.allclose(theirs.detach().double(), total.detach().double(), atol=1e-3, rtol=1e-4):
            raise fail(f"log_prob(x) is not the sum of its conditionals' Bernoulli log-likelihoods (off by up to "
                       f"{float((theirs.detach() - total.detach()).abs().max()):.3g} nats)")
    _trains(module, who, "the likelihood", lambda: -total.mean())
    return model
