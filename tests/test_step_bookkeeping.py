"""What every training step pays for besides the model: the metric rows the runner keeps, the finiteness
check of a step's metrics and of its gradients (issue 37: cheaper, and still exact)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from genviz.core.experiment import _all_finite, grads_finite, guarded_update
from genviz.core.runner import RowBuffer, columns


def reference_columns(rows):
    """The rows as columns, written out the plain way: NaN where a row has no value of a metric."""
    names = sorted({k for _, m in rows for k in m})
    out = {"step": np.array([s for s, _ in rows], dtype=np.int64)}
    for k in names:
        out[k] = np.array([float(m[k]) if k in m else np.nan for _, m in rows], dtype=np.float64)
    return out


def assert_same_columns(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_rows_with_metrics_that_come_and_go_keep_nan_where_a_row_has_none():
    rows = [(1, {"loss": 1.0, "b": 2}), (2, {"b": 3.0, "loss": 0.5}),  # the same metrics in another order
            (3, {"loss": 0.25, "part_d": 1.0}),  # one new, one missing
            (4, {"b": np.float32(4.5)}), (5, {"loss": np.float64(0.125), "b": 5.0, "part_d": 1.0}),
            (6, {"c": 7.0})]
    buffer = RowBuffer()
    for step, metrics in rows:
        buffer.append(step, metrics)
    assert len(buffer) == 6
    out = buffer.take()
    assert_same_columns(out, reference_columns(rows))
    np.testing.assert_array_equal(out["part_d"], [np.nan, np.nan, 1.0, np.nan, 1.0, np.nan])
    np.testing.assert_array_equal(out["c"], [np.nan] * 5 + [7.0])
    assert columns(rows).keys() == out.keys()
    assert len(buffer) == 0 and buffer.take() == {}  # taking empties it


def test_rows_read_tensors_as_numbers_and_refuse_what_is_not_one_number():
    buffer = RowBuffer()
    buffer.append(1, {"loss": torch.tensor(0.5), "n": np.int64(3)})
    buffer.append(2, {"loss": torch.tensor(0.25), "n": 4})
    out = buffer.take()
    np.testing.assert_array_equal(out["loss"], [0.5, 0.25])
    np.testing.assert_array_equal(out["n"], [3.0, 4.0])
    assert out["loss"].shape == out["n"].shape == (2,)
    buffer.append(1, {"loss": "high"})
    with pytest.raises(ValueError):
        buffer.take()
    buffer.clear()
    buffer.append(1, {"loss": np.array([0.5, 1.0])})  # never a column of the wrong shape
    with pytest.raises(TypeError):
        buffer.take()


def test_metrics_finite_check_counts_numbers_only():
    assert _all_finite({"a": 1.0, "b": 2, "c": np.float32(3)}.values())
    assert not _all_finite([1.0, float("nan")])
    assert not _all_finite([np.float64("inf")])
    assert _all_finite(["text", 1.0])  # what is not a number does not count
    assert not _all_finite(["text", float("-inf")])
    assert not _all_finite([torch.tensor(float("nan"))])
    assert _all_finite([])


@pytest.mark.parametrize("cached", [False, True])
def test_gradient_check_finds_each_non_finite_value_and_leaves_the_gradients_as_they_are(cached):
    cache = {} if cached else None
    grads = [torch.randn(9, 2), torch.randn(9), torch.randn(1, 9)]
    before = [g.clone() for g in grads]
    assert grads_finite(grads, cache)
    for value in (float("nan"), float("inf"), float("-inf")):
        grads[1][4] = value
        assert not grads_finite(grads, cache)
        grads[1][4] = before[1][4]
        assert grads_finite(grads, cache)  # the flag a cache keeps starts at zero again
    for g, b in zip(grads, before):
        assert torch.equal(g, b)
    assert grads_finite([torch.ones(3, dtype=torch.float64), torch.ones(2)], cache)  # two dtypes: two groups
    assert not grads_finite([torch.ones(3, dtype=torch.float64), torch.tensor([float("nan")])], cache)
    assert not grads_finite([torch.tensor([float("nan")]), torch.ones(3, dtype=torch.float64)], cache)
    if cached:
        assert list(cache) == [torch.device("cpu")]  # made once for the device


def test_each_optimizer_keeps_its_own_check_so_runs_in_threads_do_not_share_a_flag():
    results = []

    def run(value):
        net = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        x = torch.full((4, 3), value)
        answers = [guarded_update(net(x).sum() * 0 + (net.weight * x[:1]).sum(), opt, list(net.parameters()))
                   for _ in range(100)]
        results.append((value, answers, opt))

    threads = [threading.Thread(target=run, args=(v,)) for v in (1.0, float("nan"), 2.0, float("inf"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for value, answers, opt in results:
        assert answers == [bool(np.isfinite(value))] * 100, value
    flags = [r[2].__dict__.get("_finite_check_flags") for r in results if np.isfinite(r[0])]
    assert all(f is not None for f in flags) and flags[0] is not flags[1]


def test_guarded_update_refuses_a_non_finite_gradient_and_applies_the_next_good_one():
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    params = list(net.parameters())
    x = torch.randn(8, 2)
    start = [p.detach().clone() for p in params]
    # a finite loss whose gradient is not: d/dw sqrt(w - w) at 0 is infinite
    bad = torch.sqrt((net.weight - net.weight.detach()).abs()).sum() + net(x).mean()
    assert not guarded_update(bad, opt, params)
    assert all(torch.equal(p, s) for p, s in zip(params, start)) and not opt.state
    assert guarded_update(net(x).pow(2).mean(), opt, params)
    assert not all(torch.equal(p, s) for p, s in zip(params, start))
