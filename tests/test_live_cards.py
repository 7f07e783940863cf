"""Cards with live numbers (genviz.core.cards.Equation): the numbers each lab puts in its snapshots add up term by
term (checked against the lab's own loss and density functions), the contract's ``cards`` check fails on a card
whose terms do not add up or point at no view, and the card's term cells and the views highlight each other.
Every lab's cards at a live and a scrubbed step are checked by the contract (tests/test_conformance.py)."""
import math

import numpy as np
import pytest
import torch

from genviz.core.cards import Card, Equation, Term, grouped, live_equations, value_text


def test_an_equation_adds_up_and_prints_with_the_digits_its_errors_allow():
    e = Equation(Term("T", "total", 62.4123, 0.31), (Term("a", "a", 58.31, 0.3), Term("b", "b", 4.1023)))
    assert abs(e.residual()) <= e.tolerance()
    assert e.decimals() == 2  # an SE of 0.31 allows two decimals
    assert value_text(e.total, e.decimals()) == "62.41 ± 0.31"
    assert value_text(Term("x", "x", -1.5), 3) == "−1.500"
    assert value_text(Term("x", "x", float("nan")), 3) == "–"
    counts = Equation(Term("n", "n", 7.0), (Term("a", "a", 3.0), Term("b", "b", 4.0)))
    assert counts.decimals() == 0
    assert counts.mathtext() == "n = a + b"
    minus = Equation(Term("L", "L", 1.0), (Term("a", "a", 3.0), Term("b", "b", 2.0, sign=-1)))
    assert minus.residual() == 0 and minus.mathtext() == "L = a - b"
    broken = Equation(Term("T", "T", 10.0), (Term("a", "a", 3.0), Term("b", "b", 4.0)))
    assert abs(broken.residual()) > broken.tolerance()


def test_grouped_terms_keep_the_largest_and_sum_the_rest():
    v = np.array([0.01, 3.0, 0.02, 2.0, 0.5, 0.03, 1.0])
    terms = grouped(v, [f"d{i}" for i in range(7)], [f"s_{i}" for i in range(7)], 3, "bars", ("r", "{n} others"))
    assert [t.name for t in terms] == ["d1", "d3", "d6", "4 others"]
    assert [t.target for t in terms] == ["bars#1", "bars#3", "bars#6", "bars"]
    assert math.isclose(sum(t.value for t in terms), v.sum())
    few = grouped(v[:3], ["a", "b", "c"], ["a", "b", "c"], 5, "", ("r", "{n}"))
    assert [t.value for t in few] == list(v[:3])


def test_a_card_without_live_numbers_gives_none():
    card = Card("t", "w", "f", "s", "watch")
    assert live_equations(card, {"x": 1}) == []
    with_live = Card("t", "w", "f", "s", "watch", live=lambda d: [None, Equation(Term("x", "x", d["x"]))])
    assert [e.total.value for e in live_equations(with_live, {"x": 2.0})] == [2.0]


@pytest.mark.parametrize("kind", ["minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge"])
def test_the_gan_losses_parts_are_its_losses(kind):
    from genviz.models.gan import d_loss, d_loss_parts, g_loss, g_loss_parts

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, generator=g) * 3, torch.randn(200, generator=g) * 3
    a, b = d_loss_parts(kind, real, fake)
    assert a.shape == real.shape and b.shape == fake.shape
    torch.testing.assert_close(a.mean() + b.mean(), d_loss(kind, real, fake))
    torch.testing.assert_close(g_loss_parts(kind, fake).mean(), g_loss(kind, fake))


def _experiment(lab: str, steps: int = 5, **settings):
    from genviz.core.labs import get_lab
    from genviz.core.runner import build_experiment
    from genviz.testing.checks import config

    exp = build_experiment(config(get_lab(lab), settings=settings))
    for _ in range(steps):
        exp.advance()
    return exp


def test_the_gan_objective_on_screen_is_d_and_g_loss_on_the_same_points():
    from genviz.models.gan import d_loss, g_loss

    exp = _experiment("gan")
    fake = exp.snapshot(True)["fake"]
    o = exp.objective_parts(fake)
    n = o["n"]
    with torch.no_grad():
        out_r = exp.D(torch.from_numpy(exp.real_view[:n]).float())
        out_f = exp.D(torch.from_numpy(fake[:n]).float())
    assert math.isclose(o["d_loss"], float(d_loss(exp.settings["loss"], out_r, out_f)), rel_tol=1e-5)
    assert math.isclose(o["g_loss"], float(g_loss(exp.settings["loss"], out_f)), rel_tol=1e-5)
    assert math.isclose(o["d_real"], float(torch.sigmoid(out_r).mean()), rel_tol=1e-5)
    assert 0 < o["d_loss_se"] < 0.1


def test_the_vae_test_elbo_splits_into_reconstruction_and_kl():
    from genviz.vae.experiment import elbo_numbers

    exp = _experiment("manifold")
    torch.manual_seed(3)
    with torch.no_grad():
        terms = exp.model.elbo_terms(exp.x_test[:500])
    n = elbo_numbers(terms)
    assert n["test_images"] == len(exp.x_test[:500])
    assert math.isclose(n["test_recon"] + n["test_kl"], n["test_neg_elbo"], rel_tol=1e-12)
    assert math.isclose(n["test_neg_elbo"], float(-terms["elbo"].double().mean()), rel_tol=1e-6)
    assert math.isclose(n["test_kl"], float(terms["kl"].double().mean()), rel_tol=1e-9)
    assert n["test_recon_se"] > 0


def test_the_flows_change_of_variables_terms_are_its_log_density():
    exp = _experiment("flow")
    x = exp.test[:2000]
    terms = exp.test_terms(x)
    assert len(terms["test_layer_logdet"]) == len(exp.flow.transforms)
    with torch.no_grad():
        want = float(exp.flow.log_prob(x).double().mean())
    assert math.isclose(terms["test_logp"], want, rel_tol=1e-5, abs_tol=1e-5)
    assert math.isclose(terms["test_base_logp"] + float(np.sum(terms["test_layer_logdet"])), terms["test_logp"],
                        rel_tol=1e-12)


def test_the_rbms_free_energy_parts_add_up():
    exp = _experiment("gibbs")
    snap = exp.snapshot(True)
    p = snap["free_energy_parts"]
    assert math.isclose(p["visible"] + p["hidden"], snap["free_energy_data"], rel_tol=1e-5)


def test_the_denoising_loss_splits_into_score_error_irreducible_and_a_zero_mean_cross_term():
    exp = _experiment("diffusion")
    st = exp.score_terms(0.3)
    assert math.isclose(st["loss"], st["score_error"] + st["irreducible"] + st["cross"], rel_tol=1e-9)
    assert st["score_error"] > 0 and st["irreducible"] > 0
    # with the exact score in the model's place, the score error and the cross term vanish: loss = irreducible
    exact = exp.exact.score
    exp.model.score = lambda x, t: exact(x.double(), t.double()).float()
    st = exp.score_terms(0.3)
    assert st["score_error"] < 1e-8 and abs(st["cross"]) < 1e-5
    assert math.isclose(st["loss"], st["irreducible"], rel_tol=1e-4)


def test_the_cards_check_fails_on_a_card_whose_terms_do_not_add_up(monkeypatch, qtbot, tmp_path):
    import genviz.labs.manifold.cards as cards
    from genviz.core.labs import get_lab
    from genviz.testing import run_checks

    good = cards.CARDS["curves"]

    def broken(data):
        (e,) = good.live(data)
        return [Equation(e.total, (e.terms[0], Term(e.terms[1].symbol, "KL, counted twice", 2 * e.terms[1].value + 1,
                                                   None, e.terms[1].target)))]

    monkeypatch.setitem(cards.CARDS, "curves", Card(good.title, good.what, good.formula, good.source, good.watch,
                                                    live=broken))
    (result,) = run_checks(get_lab("manifold"), only=("cards",))
    assert not result.passed and "add up to" in result.detail, result.detail

    def astray(data):
        (e,) = good.live(data)
        return [Equation(e.total, (e.terms[0], Term(e.terms[1].symbol, "KL", e.terms[1].value, None, "no-such-view")))]

    monkeypatch.setitem(cards.CARDS, "curves", Card(good.title, good.what, good.formula, good.source, good.watch,
                                                    live=astray))
    (result,) = run_checks(get_lab("manifold"), only=("cards",))
    assert not result.passed and "no-such-view" in result.detail, result.detail


def test_hovering_a_term_draws_its_curve_thick_and_the_view_lights_its_terms(qtbot, tmp_path):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QEnterEvent
    from PySide6.QtCore import QPointF

    from genviz.core.headless import record_session
    from genviz.core.labs import get_lab
    from genviz.testing.checks import config
    from genviz.ui import export
    from genviz.ui.cards import CardDialog, lab_cards

    session = record_session(config(get_lab("manifold")), 8, frame_every=4, checkpoint_every=8)
    panel = export.session_panel(session, size=(1300, 850))
    qtbot.addWidget(panel)
    dlg = CardDialog(lab_cards(panel.lab)["curves"], None, panel)
    qtbot.addWidget(dlg)
    dlg.live._apply()
    assert dlg.live.header.text().startswith("With the numbers of step 8 (live)")
    kl = next(c for c in dlg.live.cells if c.term.target == "curves#kl")
    curve = panel.curves.curves["kl"]
    width = curve.opts["pen"].widthF()
    kl.enterEvent(QEnterEvent(QPointF(1, 1), QPointF(1, 1), QPointF(1, 1)))
    assert curve.opts["pen"].widthF() >= 3 * width and kl.lit
    kl.leaveEvent(QEvent(QEvent.Leave))
    assert curve.opts["pen"].widthF() == width and not kl.lit
    # the pointer over the curves view lights the terms drawn there; leaving it puts them out
    dlg.live.eventFilter(panel.curves, QEvent(QEvent.Enter))
    assert set(dlg.live.lit_terms()) == {"negative ELBO (test)", "reconstruction", "KL to the prior"}
    dlg.live.eventFilter(panel.curves, QEvent(QEvent.Leave))
    assert dlg.live.lit_terms() == []
    # scrubbing to the first frame shows its numbers; back to live shows the live ones again
    first = session.history.frames[0]
    panel.show_recorded(first)
    dlg.live._apply()
    assert dlg.live.header.text().startswith(f"With the numbers of step {first.step} (the step the timeline shows)")
    (e,) = live_equations(lab_cards(panel.lab)["curves"], first.data)
    assert dlg.live.cells[0].value.text().startswith(f"{e.total.value:.1f}"[:3])
    panel.show_recorded(None)
    dlg.live._apply()
    assert "(live)" in dlg.live.header.text()
    # an element a bar plot draws: the KL bar of dimension 1
    panel.highlight("kl-per-dimension#1", True)
    assert panel.kl_bars.lit == 1
    panel.highlight("kl-per-dimension#1", False)
    assert panel.kl_bars.lit is None
    dlg.done(0)


def test_a_labs_own_element_is_highlighted_its_way(qtbot):
    """The posterior lab draws a term's fit thick (its q ellipse); an element it does not know outlines the view."""
    from PySide6.QtWidgets import QFrame

    from genviz.core.headless import record_session
    from genviz.core.labs import get_lab
    from genviz.testing.checks import config
    from genviz.ui import export

    panel = export.session_panel(record_session(config(get_lab("posterior")), 4, frame_every=4, checkpoint_every=4))
    qtbot.addWidget(panel)
    q = panel.ellipses["q"]
    panel.highlight("posterior#q", True)
    assert q.opts["pen"].widthF() == 9
    panel.highlight("posterior#q", False)
    assert q.opts["pen"].widthF() == 3
    panel.highlight("bounds#nothing", True)
    frame = panel.views()["bounds"].findChild(QFrame, "genviz-highlight")
    assert frame is not None and frame.isVisibleTo(panel.views()["bounds"])
    panel.highlight("bounds#nothing", False)
    assert not frame.isVisibleTo(panel.views()["bounds"])
