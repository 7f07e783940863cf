"""Your own model (--model-code): references and their hashes, the check at load (one line for each fault),
a user's VAE trained by the lab's own loop (its ELBO exactly the family VAE's on the same weights), sessions
that name code without running it, and the window (a confirmation before code runs; clicks decoded by the
worker)."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from genviz.core.labs import get_lab
from genviz.core.model_code import ModelCodeError, checked, named, parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "conv_vae.py"

BAD = textwrap.dedent('''
    import torch
    from torch import nn

    class Lin(nn.Module):
        latent_dim = 2
        def __init__(self, out=(1, 8, 8)):
            super().__init__()
            self.enc, self.dec, self.out = nn.Linear(64, 4), nn.Linear(2, 64), out
        def encode(self, x):
            h = self.enc(x.flatten(1))
            return h[:, :2], h[:, 2:]
        def decode(self, z):
            return self.dec(z).view(-1, *self.out)

    def good(**_): return Lin()
    def raises(**_): raise ValueError("boom")
    def not_module(**_): return 3
    def flat_output(**_): return Lin(out=(64,))
    def no_parameters(**_):
        m = Lin()
        for p in m.parameters(): p.requires_grad_(False)
        return m
    class NoDecode(Lin):
        decode = None
    def no_decode(**_): return NoDecode()
    class NaNs(Lin):
        def decode(self, z): return super().decode(z) * float("nan")
    def nans(**_): return NaNs()
    class Ints(Lin):
        def encode(self, x):
            mu, logvar = super().encode(x)
            return mu.long(), logvar
    def ints(**_): return Ints()
    class BadLatent(Lin):
        latent_dim = "two"
    def bad_latent(**_): return BadLatent()
    class OneThing(Lin):
        def encode(self, x): return super().encode(x)[0]
    def one_thing(**_): return OneThing()
    class Five(Lin):
        latent_dim = 5
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(64, 10), nn.Linear(5, 64)
        def encode(self, x):
            h = self.enc(x.flatten(1))
            return h[:, :5], h[:, 5:]
    def five(**_): return Five()
''')


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(BAD)
    return path


def _build(spec: str, lab: str = "manifold", steps: int = 0, **settings):
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import build_experiment

    small = {"hidden": 16} if get_lab(lab).user_model == "vae" else {}
    config = EngineConfig(lab=lab, settings={**small, **settings}, model_code=named(get_lab(lab), spec))
    exp = build_experiment(config)
    for _ in range(steps):
        exp.advance()
    return exp


def test_a_reference_is_parsed_and_its_file_hashed(models, tmp_path):
    code = parse(f"{models}:good", "vae")
    assert code.spec == f"{models.resolve()}:good" and len(code.sha256) == 64 and code.family == "vae"
    assert code.shown == "models.py:good"
    for spec, said in [("nocolon", "give MODULE:FACTORY"), (f"{tmp_path}/missing.py:make", "no file"),
                       (f"{models}:not-a-name", "not a Python name"), ("no.such.module:make", "no module"),
                       ("1bad:make", "neither a FILE.py nor a module")]:
        with pytest.raises(ModelCodeError, match=said):
            parse(spec)
    # a file that changed since it was named is said, before anything runs
    models.write_text(BAD + "\n# edited\n")
    with pytest.raises(ModelCodeError, match="changed since it was named"):
        checked(code)
    assert checked(code.to_dict() | {"sha256": None}).sha256 != code.sha256  # re-named: the new hash


def test_only_labs_that_take_a_model_accept_code(models):
    with pytest.raises(ModelCodeError, match="the gibbs lab takes no model code.*manifold, posterior, flow, gan, autoregressive, arithmetic, diffusion"):
        named(get_lab("gibbs"), f"{models}:good")
    with pytest.raises(ModelCodeError, match="needs latent_dim = 2, the model has 5"):
        _build(f"{models}:five", "posterior")


@pytest.mark.parametrize("factory, said", [
    ("raises", "the factory raised ValueError: boom"),
    ("not_module", "returned int, not a torch.nn.Module"),
    ("flat_output", r"decode\(z\) returned shape \[4, 64\], expected \[4, 1, 8, 8\]"),
    ("no_parameters", "no trainable parameters"),
    ("no_decode", r"no method decode\(\)"),
    ("nans", "non-finite values"),
    ("ints", "torch.int64 tensor; a floating one is needed"),
    ("bad_latent", "latent_dim must be a positive int, not 'two'"),
    ("one_thing", r"must return \(mu, logvar\)"),
    ("missing", "has no function missing"),
])
def test_each_fault_of_a_model_is_one_line(models, factory, said):
    with pytest.raises(ModelCodeError, match=said) as info:
        _build(f"{models}:{factory}")
    assert "\n" not in str(info.value) and str(info.value).startswith(f"model code {models.resolve()}:{factory}")


def test_a_user_vae_has_exactly_the_family_vaes_elbo_on_the_same_weights():
    """The lab's objective does not depend on who wrote the network: a user's module holding the family VAE's
    own layers gives the same ELBO terms, IWAE bound and gradients (same noise)."""
    from genviz.models.user import UserVAE
    from genviz.models.vae import VAE

    torch.manual_seed(0)
    ref = VAE(64, latent=3, hidden=(16,), likelihood="bernoulli")

    class Mine(nn.Module):
        latent_dim = 3

        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = ref.encoder, ref.decoder

        def encode(self, x):
            h = self.encoder(x.flatten(1))
            return h[:, :3], h[:, 3:]

        def decode(self, z):
            return self.decoder(z).view(-1, 1, 8, 8)

    mine = UserVAE(Mine(), (1, 8, 8), "bernoulli")
    x = torch.rand(10, 64).round()
    for model in (ref, mine):
        model.zero_grad()
    torch.manual_seed(1)
    a = ref.elbo_terms(x, n_samples=2)
    a["elbo"].sum().backward()
    grads = [p.grad.clone() for p in ref.parameters()]
    ref.zero_grad()
    torch.manual_seed(1)
    b = mine.elbo_terms(x, n_samples=2)
    b["elbo"].sum().backward()
    for key in ("recon", "kl", "elbo"):
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    assert all(torch.allclose(g, p.grad, atol=1e-6) for g, p in zip(grads, ref.parameters()))
    torch.manual_seed(2)
    ia = ref.iwae_bound(x, k=20)
    torch.manual_seed(2)
    assert torch.allclose(ia, mine.iwae_bound(x, k=20), atol=1e-5)
    assert mine.decoder_layers() is None  # the window decodes by asking the worker


def test_the_lab_trains_a_user_vae_and_saves_which_code_it_needs(tmp_path):
    exp = _build(f"{EXAMPLE}:make", steps=0)
    first = exp.final_metrics()["test_neg_elbo"]
    for _ in range(150):
        exp.advance()
    last = exp.final_metrics()
    assert last["test_neg_elbo"] < first - 5 and last["steps"] == 150
    snap = exp.snapshot(heavy=True)
    assert snap["decoder"] is None and snap["manifold"].shape[0] > 0
    assert exp.static_info()["your_model"].startswith("ConvVAE (")
    decoded = exp.query("decode", z=[[0.0, 0.0], [1.0, -1.0]], tag="walk")
    assert decoded["tag"] == "walk" and decoded["images"].shape == (2, 64)
    assert ((decoded["images"] >= 0) & (decoded["images"] <= 1)).all()
    # the checkpoint holds the user's module's weights (no bare tensors left out), and resumes exactly
    from genviz.core.runner import restore_state, state_bytes

    blob = state_bytes(exp)
    other = _build(f"{EXAMPLE}:make")
    restore_state(other, blob)
    for p, q in zip(exp.model.parameters(), other.model.parameters()):
        assert torch.equal(p, q)
    # a model file names the code it needs: a lab opening it without that code says so
    exp.save(str(tmp_path / "mine.pt"))
    from genviz.core.checkpoint import CheckpointError
    from genviz.core.protocol import EngineConfig
    from genviz.core.runner import build_experiment

    with pytest.raises(CheckpointError, match="built by your own code .*--model-code"):
        build_experiment(EngineConfig(lab="arithmetic", settings={"model": str(tmp_path / "mine.pt")}))


def test_genviz_train_takes_model_code_and_says_what_is_wrong_in_one_line(models):
    def train(spec, *more):
        return subprocess.run([sys.executable, "-m", "genviz", "train", "manifold", "--model-code", spec,
                               "--steps", "60", "--quiet", "--threads", "1", *more], capture_output=True,
                              text=True, timeout=300, cwd=ROOT)

    r = train(f"{EXAMPLE.relative_to(ROOT)}:make", "--out", str(models.parent / "out"))
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["steps"] == 60 and result["test_neg_elbo"] == result["test_neg_elbo"]  # finite, not NaN
    r = train(f"{models}:flat_output")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "expected [4, 1, 8, 8]" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_session_names_the_code_and_never_runs_it_on_opening(models, tmp_path, monkeypatch):
    from genviz.core import model_code
    from genviz.core.headless import record_session
    from genviz.core.protocol import EngineConfig
    from genviz.core.run import RunModel
    from genviz.core.session import SessionError, load_session, save_session

    code = named(get_lab("manifold"), f"{models}:good")
    session = record_session(EngineConfig(lab="manifold", settings={"hidden": 16}, model_code=code), 20,
                             frame_every=10, checkpoint_every=10)
    path = save_session(session, tmp_path / "mine.genviz")
    imports = []
    monkeypatch.setattr(model_code, "load_factory", lambda c: imports.append(c))
    opened = load_session(path)
    assert opened.model_code == code and not imports
    run = RunModel({n: get_lab(n) for n in ("manifold", "gan")})
    run.open_session(opened)  # (the window asked the user first)
    run.lab = "manifold"
    assert run.config().model_code == code and not imports
    assert run.model_code_of("gan") is None  # another family's lab: its own model
    # a hostile reference is refused by the session's schema before anything reads it
    import zipfile

    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("session.json"))
        parts = {n: zf.read(n) for n in zf.namelist()}
    manifest["model_code"] = {"spec": "x.py:make", "sha256": "not-a-hash", "run": "os.system('x')"}
    parts["session.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "hostile.genviz", "w") as zf:
        for n, blob in parts.items():
            zf.writestr(n, blob)
    with pytest.raises(SessionError):
        load_session(tmp_path / "hostile.genviz")


def test_the_window_trains_your_model_and_decodes_a_click_through_the_worker(qtbot, models, monkeypatch):
    from tests.helpers import open_window, run_until, train_until

    code = named(get_lab("manifold"), f"{EXAMPLE}:make")
    w = open_window(qtbot, "manifold", model_code=code)
    assert w.run.static["your_model"].startswith("ConvVAE")
    train_until(qtbot, w, frames=3, checkpoints=1)
    panel = w.panel()
    assert panel.heavy["decoder"] is None
    before = panel.preview_view.item.image
    panel.click_plane(1.5, -1.0)
    run_until(None, lambda: panel.preview_view.item.image is not before and not panel.decode_in_flight, 30)
    assert panel.preview_view.item.image.shape == tuple(w.run.static["image_shape"])
    # a session naming code: the user is asked first; declined, nothing is opened and no code runs
    asked = []
    monkeypatch.setattr(w.model_code, "confirm", lambda spec, why="": asked.append(spec) or False)
    from genviz.core.session import Session

    session = Session(lab="manifold", settings={}, model_code=named(get_lab("manifold"), f"{models}:good"))
    from tests.helpers import complete

    assert complete(w.sessions.start(session, "theirs.genviz")) is False and asked == [session.model_code["spec"]]
    assert w.run.model_code == code
    # the lab's own model again, through the controller's check
    assert complete(w.controller.use_model_code(None))
    qtbot.waitUntil(lambda: w.run.static.get("your_model", "") == "", timeout=60000)


GAN_BAD = textwrap.dedent('''
    import torch
    from torch import nn

    class Pair(nn.Module):
        noise_dim = 3
        def __init__(self, g_out=2):
            super().__init__()
            self.generator = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, g_out))
            self.discriminator = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

    def good(**_): return Pair()
    def three_d(**_): return Pair(g_out=3)
    def shared(**_):
        m = Pair()
        m.discriminator[0] = m.generator[2]  # a layer of G inside D: one optimiser would move the other's weights
        return m
    class Methods(nn.Module):  # methods, not submodules: the lab cannot tell G's parameters from D's
        noise_dim = 2
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(2, 2)
        def generator(self, z): return self.net(z)
        def discriminator(self, x): return self.net(x)[:, 0]
    def methods(**_): return Methods()
''')


def test_a_users_gan_needs_the_lab_s_own_discriminator_for_packing(tmp_path):
    path = tmp_path / "gans.py"
    path.write_text(GAN_BAD)
    with pytest.raises(ModelCodeError, match="pack = 2 packs the lab's own"):
        _build(f"{path}:good", "gan", pack=2)


def test_the_gan_lab_trains_a_users_gan_with_its_own_losses_and_metrics():
    spec = f"{ROOT / 'docs' / 'examples' / 'mlp_gan.py'}:make"
    exp = _build(spec, "gan", steps=0, loss="wgan-gp", batch=64)
    g_before = [p.clone() for p in exp.G.parameters()]
    d_before = [p.clone() for p in exp.D.parameters()]
    exp.advance("d")  # one D update alone moves D only
    assert all(torch.equal(a, b) for a, b in zip(g_before, exp.G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, exp.D.parameters()))
    for _ in range(30):
        exp.advance()
    snap = exp.snapshot(heavy=True)
    assert snap["fake"].shape[1] == 2 and snap["heat"].shape[0] == snap["heat"].shape[1] and "coverage" in snap
    final = exp.final_metrics()
    assert final["n_modes"] == 8 and 0 <= final["modes"] <= 8
    info = exp.static_info()
    assert info["your_model"].startswith("Sequential G (") and "g_hidden" in info["unused_settings"]
    from genviz.core.runner import restore_state, state_bytes

    other = _build(spec, "gan")
    restore_state(other, state_bytes(exp))
    assert all(torch.equal(a, b) for a, b in zip(exp.G.parameters(), other.G.parameters()))


def test_the_diffusion_lab_trains_a_users_network_with_its_own_loss_and_samplers(tmp_path):
    spec = f"{ROOT / 'docs' / 'examples' / 'denoiser.py'}:make"
    exp = _build(spec, "diffusion", steps=0, process="flow", batch=64)
    x = torch.randn(5, 2)
    t = torch.full((1,), 0.4)  # the samplers pass one time for the batch: the user's network gets one per point
    assert torch.allclose(exp.model(x, t), exp.model.user(x, t.expand(5)))
    assert torch.allclose(exp.model.velocity(x, t.expand(5)), exp.model.user(x, t.expand(5)))  # flow: its output
    for _ in range(20):
        exp.advance()
    snap = exp.snapshot(heavy=True)
    assert snap and all(k in exp.static_info()["unused_settings"] for k in ("hidden", "layers"))
    final = exp.final_metrics()
    assert final["steps"] == 20 and final["test_nll_se"] > 0  # the ODE's NLL, with its standard error
    with pytest.raises(ModelCodeError, match="keep guidance = 0"):
        _build(spec, "diffusion", guidance=1.0)
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nfrom torch import nn\n"
                   "class One(nn.Module):\n    def __init__(self):\n        super().__init__(); self.l = nn.Linear(2, 1)\n"
                   "    def forward(self, x, t): return self.l(x)\n"
                   "def make(**_): return One()\n")
    with pytest.raises(ModelCodeError, match=r"model\(x, t\) returned shape \[4, 1\], expected \[4, 2\]"):
        _build(f"{bad}:make", "diffusion")


def test_the_arithmetic_lab_decodes_a_users_vae_through_the_worker(qtbot):
    """Sliders, attribute strip, analogy and walks of a model the window holds no copy of: each view asks the
    worker (one request in flight per view) and draws the reply; the model explored is the one trained in the
    manifold lab (the run's model code builds every lab of its family)."""
    from tests.helpers import open_window, run_until, train_until

    code = named(get_lab("manifold"), f"{EXAMPLE}:make")
    w = open_window(qtbot, "manifold", model_code=code)
    train_until(qtbot, w, frames=2, checkpoints=1)
    w.select_in_list("arithmetic")  # the manifold's model, kept, opens here with the same code
    qtbot.waitUntil(lambda: w.run.lab == "arithmetic" and w.run.static.get("model_source", "").startswith("manifold"),
                    timeout=90000)
    panel = w.panel()
    qtbot.waitUntil(lambda: bool(panel.heavy), timeout=60000)
    assert panel.heavy["decoder"] is None
    run_until(None, lambda: panel.image_view.item.image is not None and not panel.decode_in_flight, 30)
    before = panel.image_view.item.image.copy()
    panel.set_z(panel.z + 2.0)  # a slider's move: the worker decodes it
    run_until(None, lambda: not panel.decode_in_flight and not (panel.image_view.item.image == before).all(), 30)
    assert panel.image_view.item.image.shape == tuple(w.run.static["image_shape"])


FLOW_BAD = textwrap.dedent('''
    import torch
    from torch import nn

    class Shift(nn.Module):
        def __init__(self, wrong_logdet=False, wrong_inverse=False):
            super().__init__()
            self.a = nn.Parameter(torch.tensor([0.5, -0.3]))
            self.wrong_logdet, self.wrong_inverse = wrong_logdet, wrong_inverse
        def forward(self, z):
            x = z * self.a.exp() + 0.1
            ld = self.a.sum().expand(len(z))
            return x, ld + (1.0 if self.wrong_logdet else 0.0)
        def inverse(self, x):
            z = (x - 0.1) * (-self.a).exp()
            return (z + 1.0 if self.wrong_inverse else z), -self.a.sum().expand(len(x))

    class Flow(nn.Module):
        def __init__(self, **kw):
            super().__init__()
            self.transforms = nn.ModuleList([Shift(**kw), Shift()])

    def good(**_): return Flow()
    def wrong_logdet(**_): return Flow(wrong_logdet=True)
    def wrong_inverse(**_): return Flow(wrong_inverse=True)
    def no_layers(**_): return nn.Linear(2, 2)
''')


@pytest.mark.parametrize("lab, factory, said", [
    ("gan", "three_d", r"generator\(z\) returned shape \[4, 3\], expected \[4, 2\]"),
    ("gan", "shared", "share parameters"),
    ("gan", "methods", "generator must be a torch.nn.Module attribute"),
    ("flow", "wrong_logdet", r"layer 1's log\|det J\| is not its Jacobian's \(off by up to 1 nats"),
    ("flow", "wrong_inverse", "layer 1's inverse does not undo its forward"),
    ("flow", "no_layers", "the model needs transforms"),
])
def test_a_users_gan_or_flow_is_checked_at_load(tmp_path, lab, factory, said):
    """The flow's layers against autograd's Jacobian; the GAN's two networks apart."""
    path = tmp_path / "models.py"
    path.write_text(GAN_BAD if lab == "gan" else FLOW_BAD)
    with pytest.raises(ModelCodeError, match=said) as info:
        _build(f"{path}:{factory}", lab)
    assert "\n" not in str(info.value)


def test_the_flow_lab_fits_a_users_flow_and_shows_every_layer(tmp_path):
    """Exact: the density of an affine flow is a Gaussian in closed form; the lab's log_prob of the user's layers
    equals it. Then both fits (likelihood and reverse KL) train it, and the views walk its layers."""
    path = tmp_path / "flows.py"
    path.write_text(FLOW_BAD)
    exp = _build(f"{path}:good", "flow")
    a = exp.flow.net.transforms[0].a.detach()
    scale = (2 * a).exp()  # two layers: x = (z e^a + 0.1) e^a + 0.1
    mean = 0.1 * a.exp() + 0.1
    x = torch.randn(6, 2)
    exact = torch.distributions.Normal(mean, scale).log_prob(x).sum(1)
    assert torch.allclose(exp.flow.log_prob(x), exact, atol=1e-5)
    spec = f"{ROOT / 'docs' / 'examples' / 'coupling_flow.py'}:make"
    for fit in ("density", "energy"):
        exp = _build(spec, "flow", steps=15, fit=fit, batch=64)
        snap = exp.snapshot(heavy=True)
        assert snap["lines"].shape[0] == 9 and snap["cloud"].shape[0] == 9  # the base and 8 layers
        assert exp.static_info()["layers"] == 8 and "bins" in exp.static_info()["unused_settings"]
        assert exp.query("layer_density", k=3)["density"].shape == snap["density"].shape
    assert exp.final_metrics()["flow"] == "yours (coupling_flow.py:make)"


def test_a_comparison_runs_a_users_model_only_from_the_confirmed_window(qtbot):
    from genviz.core.session import Session
    from genviz.ui.compare_run import Run

    code = named(get_lab("manifold"), f"{EXAMPLE}:make")
    session = Session(lab="manifold", settings={"hidden": 16}, model_code=code, title="mine")
    recorded = Run.from_session(session)  # a folder's session: shown as recorded, no code runs from here
    assert recorded.status == "recorded" and not recorded.trainable and recorded.model.model_code is None
    assert recorded.error == "recorded only: conv_vae.py:make runs from the main window"
    recorded.start()
    assert recorded.bridge is None
    recorded.close()
    run = Run.from_session(session, trusted=True)  # the main window's own run, its code confirmed there
    assert run.model.config().model_code == code
    run.close()


DIST_FLOWS = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.distributions import (AffineTransform, Independent, MultivariateNormal, Normal, TanhTransform,
                                     TransformedDistribution)

    class Affine(nn.Module):
        """A Gaussian as a flow: N(0, I) through x = loc + e^s z (torch's TransformedDistribution)."""
        def __init__(self, base_scale=1.0):
            super().__init__()
            self.loc = nn.Parameter(torch.tensor([0.3, -0.2]))
            self.log_scale = nn.Parameter(torch.tensor([0.4, -0.5]))
            self.base_scale = base_scale
        def forward(self):
            base = Independent(Normal(torch.zeros(2), self.base_scale * torch.ones(2)), 1)
            return TransformedDistribution(base, [AffineTransform(self.loc, self.log_scale.exp())])

    class Gauss(nn.Module):
        def __init__(self):
            super().__init__()
            self.loc = nn.Parameter(torch.zeros(2))
        def forward(self):
            return MultivariateNormal(self.loc, torch.eye(2))

    def affine(**_): return Affine()
    def wide_base(**_): return Affine(base_scale=2.0)
    def not_a_flow(**_): return Gauss()
''')


def test_a_flow_given_as_a_torch_distribution_has_its_exact_density_and_its_layers(tmp_path):
    """torch's TransformedDistribution: the lab's log_prob is the closed-form Gaussian's; its transform is the
    layer the views walk. A base other than N(0, I) and a distribution without transforms are refused."""
    path = tmp_path / "dists.py"
    path.write_text(DIST_FLOWS)
    exp = _build(f"{path}:affine", "flow")
    net = exp.flow.net
    x = torch.randn(6, 2)
    exact = torch.distributions.Normal(net.loc, net.log_scale.exp()).log_prob(x).sum(1)
    assert torch.allclose(exp.flow.log_prob(x), exact, atol=1e-5)
    assert len(exp.flow.transforms) == 1 and exp.static_info()["your_model"].startswith("Affine (1 layers, 4 ")
    for _ in range(20):
        exp.advance()
    assert exp.snapshot(heavy=True)["lines"].shape[0] == 2  # the base and the one layer
    with pytest.raises(ModelCodeError, match=r"base distribution \(Independent\) is not the standard normal"):
        _build(f"{path}:wide_base", "flow")
    with pytest.raises(ModelCodeError, match="returned a MultivariateNormal; the flow lab draws every layer"):
        _build(f"{path}:not_a_flow", "flow")


def test_a_zuko_flow_trains_in_the_flow_lab_with_every_layer_checked(tmp_path):
    """A third-party library's flow (zuko's neural spline flow, docs/examples/zuko_flow.py) through the adapter:
    its layers' log-dets pass the autograd check, their sum is zuko's own log_prob, both fits train it, and the
    density after the last layer is the flow's density (it integrates to ~1 over the view)."""
    spec = f"{ROOT / 'docs' / 'examples' / 'zuko_flow.py'}:make"
    exp = _build(spec, "flow", steps=0)
    nll0 = exp.final_metrics()["test_nll"]
    for _ in range(60):
        exp.advance()
    assert exp.final_metrics()["test_nll"] < nll0 - 0.2
    snap = exp.snapshot(heavy=True)
    assert snap["lines"].shape[0] == 5 and exp.static_info()["layers"] == 4  # the base and zuko's 4 transforms
    x0, x1, y0, y1 = exp.extent
    cell = (x1 - x0) * (y1 - y0) / snap["density"].size
    assert abs(float(snap["density"].sum()) * cell - 1.0) < 0.1
    exp = _build(spec, "flow", steps=5, fit="energy", batch=64)
    assert exp.snapshot(heavy=True)["reverse_kl"] > 0


def test_a_sweep_trains_a_users_model_and_its_folder_shows_what_it_recorded(qtbot, tmp_path):
    """genviz sweep --model-code: every run trains the named code, the plan records its reference and hash, a
    resume must name it again (a folder never runs code), and the compare view shows the runs as recorded."""
    spec = f"{ROOT / 'docs' / 'examples' / 'pixelcnn.py'}:make"
    out = tmp_path / "sweep"

    def sweep(*args):
        return subprocess.run([sys.executable, "-m", "genviz", "sweep", *args, "--quiet"], capture_output=True,
                              text=True, timeout=600)

    done = sweep("autoregressive", "--grid", "lr=0.001,0.003", "--steps", "8", "--workers", "2",
                 "--model-code", spec, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "sweep.json").read_text())["model_code"]["family"] == "autoregressive"
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["metrics"]["model"] for r in runs] == ["yours (pixelcnn.py:make)"] * 2
    again = sweep("--resume", str(out))
    assert again.returncode == 2 and "name it again with --model-code" in again.stderr
    other = sweep("--resume", str(out), "--model-code", f"{EXAMPLE}:make")
    assert other.returncode == 2 and "not " in other.stderr
    assert sweep("--resume", str(out), "--model-code", spec).returncode == 0
    from genviz.ui.compare import open_compare

    w = open_compare(out)
    qtbot.addWidget(w)
    w.show()
    assert [r.status for r in w.runs] == ["recorded", "recorded"] and all(r.model.model_code is None for r in w.runs)
    assert all(len(r.history) > 0 for r in w.runs)
    w.play(True)
    assert all(r.bridge is None for r in w.runs)  # nothing trains: no worker, no code
    w.close()
