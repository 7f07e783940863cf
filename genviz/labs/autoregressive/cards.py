"""Info cards of the autoregressive lab's views (genviz.core.cards)."""
from genviz.core.cards import Card, Equation, Term, grouped

AR = ("Larochelle &amp; Murray, NADE (2011); Germain et al., MADE (2015); van den Oord et al., Pixel Recurrent "
      "Neural Networks (2016) and Conditional Image Generation with PixelCNN Decoders (2016, gated)")


def _pixels(data: dict) -> list:
    """−log p(x) of the chosen image = the sum of its pixels' surprises, row by row."""
    if "pixel_nll" not in data:
        return []
    import math

    import numpy as np

    nll = np.asarray(data["pixel_nll"], dtype=np.float64)
    side = int(round(math.sqrt(len(nll))))
    rows = nll.reshape(side, -1).sum(1) if side * side == len(nll) else nll[None]
    r = len(rows)
    terms = grouped(rows, [f"row {i}: its pixels' surprise" for i in range(r)],
                    [rf"\sum_{{i\in\mathrm{{row}}\,{j}}} -\log p(x_i|x_{{<i}})" for j in range(r)], 4, "pixel-nll",
                    (r"\sum_{\mathrm{rest}}", "the other {n} rows"), how="exact (chain rule)")
    return [Equation(Term(r"-\log p(x)", f"test image {data.get('image_index', 0)}", float(nll.sum()), None,
                          "chosen-image", how="exact (chain rule)", key="pixel_nll"), terms,
                     title="The chain rule: the image's NLL is the sum of every pixel's surprise")]


def _curves(data: dict) -> list:
    if "test_nll" not in data:
        return []
    out = [Equation(Term(r"-\overline{\log p(x)}", "test NLL per image (nats)", data["test_nll"], data.get("test_nll_se"),
                         "curves#test_nll", key="test_nll"), title="Exact per image; ± SE over the test images")]
    if "density_nll" in data:
        import math

        area = data["density_nll"] - data["test_nll"]
        out.append(Equation(Term(r"-\overline{\log p(x)}_{\mathrm{density}}", "NLL as a density (nats)", data["density_nll"],
                                 data.get("test_nll_se"), "density"),
                            (Term(r"-\overline{\log P(\mathrm{bin})}", "NLL of the bins", data["test_nll"],
                                  data.get("test_nll_se"), "curves#test_nll"),
                             Term(r"\log \Delta", f"log of the bin area ({math.exp(area):.3g})", area, None, "histogram",
                                  how="the grid's geometry")),
                            title="Binned points: a piecewise-constant density, comparable with the flow lab's NLL"))
    return out


def _blind(data: dict) -> list:
    if "blind_spot" not in data:
        return []
    return [Equation(Term(r"\#\mathrm{blind}", f"pixels before the probe ({data.get('probe', 0)}) its prediction never sees",
                          float(data["blind_spot"]), None, "receptive-field", how="a count of exact zero gradients",
                          key="blind_spot"), title="The receptive field by autograd: ∂ logit(probe) / ∂ x_j for every j")]


def _completions(data: dict) -> list:
    if "completion_gain" not in data:
        return []
    return [Equation(Term(r"\Delta_{\mathrm{match}}", "completions' match minus samples' match",
                          data["completion_gain"], data.get("completion_gain_se"), "completions"),
                     (Term(r"m_{\mathrm{completion}}", "completions matching the image", data["completion_match"],
                           None, "completions", how="the share of pixels over these completions"),
                      Term(r"m_{\mathrm{sample}}", "free samples matching it", data["sample_match"], None, "samples",
                           how="the share of pixels over these samples", sign=-1)),
                     title="How much the given top half helps: pixels of the bottom half that match the true image")]


CARDS = {
    "samples": Card(
        "Samples",
        "Images drawn pixel by pixel from the model (or points drawn bin by bin), each pixel from its exact "
        "conditional given the ones before it.",
        "x<sub>i</sub> ~ Bernoulli(p(x<sub>i</sub> = 1 | x<sub>&lt;i</sub>)), i = 1 &hellip; D in raster order",
        AR,
        "Sampling is sequential: D network passes for D pixels (PixelCNN and the gated stacks here compute only "
        "what each pixel depends on)."),
    "curves": Card(
        "Negative log-likelihood",
        "The exact negative log-likelihood per image of training and test data, in nats (bits/dim on the right).",
        "&minus;log p(x) = &minus;&sum;<sub>i</sub> log p(x<sub>i</sub> | x<sub>&lt;i</sub>); "
        "bits/dim = nats / (D ln 2)",
        AR,
        "No bound, no sampling: the likelihood is exact, so models compare directly; test above train is overfitting.", live=_curves),
    "pixel-nll": Card(
        "Surprise",
        "How surprised the model is by each pixel of the test image.",
        "&minus;log p(x<sub>i</sub> | x<sub>&lt;i</sub>) in nats, per pixel",
        AR,
        "Edges of strokes are the surprising pixels; the background costs almost nothing.", live=_pixels),
    "next-pixel": Card(
        "p(x<sub>i</sub> = 1 | &hellip;)",
        "For each pixel, the model's probability that it is on, given the test image's pixels before it.",
        "p(x<sub>i</sub> = 1 | x<sub>&lt;i</sub>)",
        AR,
        "Once the start of a stroke is seen, the model predicts its continuation."),
    "receptive-field": Card(
        "Receptive field",
        "Which earlier pixels the clicked pixel's prediction depends on: the gradient of its logit with respect "
        "to the input.",
        "|&part; logit<sub>i</sub> / &part; x<sub>j</sub>|, relative to its maximum",
        AR,
        "PixelCNN's masked convolutions leave a blind spot above and to the right; the gated vertical and "
        "horizontal stacks fill it. WaveNet's dilated causal convolutions (dilation 2<sup>l</sup> in layer l) read "
        "the image as one sequence: its field is the previous 2<sup>layers</sup> pixels in raster order, doubling "
        "with each layer (van den Oord et al. 2016, WaveNet, fig. 3). PixelRNN's Row LSTM sees a triangle: the pixel "
        "to its left and a cone of rows above, missing the rest of its own row (van den Oord, Kalchbrenner &amp; "
        "Kavukcuoglu 2016, fig. 4); the Diagonal BiLSTM sees every pixel before it.", live=_blind),
    "chosen-image": Card(
        "Test image",
        "The test image the per-pixel views describe; drag on it to hide a region for completion (Shift erases).",
        "&mdash; (the data)", AR,
        "Pick an unusual digit: its surprise map lights up where it departs from the common shapes."),
    "completions": Card(
        "Completions",
        "The hidden region of the test image filled in by the model, several times, pixel by pixel.",
        "x<sub>i</sub> ~ p(x<sub>i</sub> | x<sub>&lt;i</sub>) for hidden pixels, observed pixels kept",
        AR,
        "Only pixels before the hidden ones in the ordering inform it: hide the top half and the model must "
        "guess it unconditionally.", live=_completions),
    "made-masks": Card(
        "MADE's masks",
        "The connectivity of MADE's layers: a blue cell is a weight that is allowed; units sorted by degree.",
        "M<sub>kj</sub> = 1 if m(k) &ge; m(j) (hidden), m(d) &gt; m(k) (output): output d sees only inputs "
        "before it in the ordering",
        "Germain et al., MADE: Masked Autoencoder for Distribution Estimation (2015)",
        "The staircases are the autoregressive property; a new ordering or new degrees change them."),
    "density": Card(
        "Model p(x<sub>1</sub>, x<sub>2</sub>)",
        "The model's exact density of 2-D points on a grid of bins.",
        "p(x<sub>1</sub>, x<sub>2</sub>) = p(x<sub>1</sub> bin) p(x<sub>2</sub> bin | x<sub>1</sub> bin) / bin area",
        AR,
        "It should match the data's histogram beside it; an autoregressive model has no trouble with several modes.", live=_curves),
    "histogram": Card(
        "Data histogram",
        "The training points counted per bin.",
        "count of points in each (x<sub>1</sub>, x<sub>2</sub>) bin", AR,
        "The model's density is fitted to this histogram's normalised version."),
    "conditional": Card(
        "p(x<sub>2</sub> | x<sub>1</sub>)",
        "For each bin of x<sub>1</sub> (a column), the model's distribution over x<sub>2</sub>.",
        "p(x<sub>2</sub> bin | x<sub>1</sub> bin): each column sums to 1", AR,
        "The second factor of the chain rule: where x<sub>1</sub> has two possible partners, the column has two peaks."),
}
