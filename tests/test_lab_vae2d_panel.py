"""The point-VAE lab's latent view (issue 37): the same test points move in place, coloured by mode."""

import numpy as np

from tests.helpers import open_window


def test_latent_points_move_in_place_and_keep_their_mode_colours(qtbot):
    w = open_window(qtbot, "vae2d", overrides={"hidden": 16})
    panel = w.panel()
    rng = np.random.default_rng(0)
    modes = np.arange(40) % len(panel.brushes)
    z = rng.normal(size=(40, 2))
    panel._draw_latent({"latent": z, "latent_mode": modes})
    item = panel.latent_item
    records = item.data
    colour = lambda: [item.data["brush"][i].color().name() for i in range(len(modes))]  # noqa: E731
    first = colour()
    assert first == [panel.brushes[m].color().name() for m in modes]
    z2 = z + 0.5
    panel._draw_latent({"latent": z2, "latent_mode": modes})  # the same points encoded again
    assert item.data is records  # moved in place: no new records
    np.testing.assert_allclose(np.column_stack([item.data["x"], item.data["y"]]), z2)
    assert colour() == first
    lo, hi = item.dataBounds(0)
    assert lo == z2[:, 0].min() and hi == z2[:, 0].max()  # the view's bounds follow the move
    flipped = modes[::-1].copy()
    panel._draw_latent({"latent": z, "latent_mode": flipped})  # new modes: new colours
    assert colour() == [panel.brushes[m].color().name() for m in flipped]
    w.close()
