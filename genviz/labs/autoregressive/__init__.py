"""The autoregressive lab: NADE, MADE and PixelCNN learn binary images one pixel at a time."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

LAB = LabInfo(
    family="autoregressive", family_data="points",  # genviz compare-families: this family on a 2-D data set
    name="autoregressive",
    cards="genviz.labs.autoregressive.cards:CARDS", exact_checks="genviz.labs.autoregressive.checks:autoregressive_checks",
    title="Autoregressive models",
    summary="p(x) = Π p(x_i | x_<i): NADE, MADE and PixelCNN learn binary images with exact likelihoods, "
            "and sample them pixel by pixel.",
    script="genviz.labs.autoregressive.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.autoregressive.experiment:AutoregressiveExperiment",
    panel="genviz.labs.autoregressive.panel:AutoregressivePanel",
    order=55,
    data_kind="images",
    user_model="autoregressive",  # a user's model (--model-code): genviz.models.protocols.AutoregressiveModel
    data_applies=(("points", ("",)),),  # with 2-D points set, the images are not read
    bench="genviz.labs.autoregressive.bench:run",
    settings=(
        Setting("model", "nade", "choice", "nade = shared weights (Larochelle & Murray 2011); made = masked MLP "
                "(Germain et al. 2015); pixelcnn = masked convolutions (van den Oord et al. 2016); gated = "
                "vertical and horizontal stacks, no blind spot; wavenet = dilated causal 1-D convolutions over the pixels "
                "in raster order (van den Oord et al. 2016); rowlstm = PixelRNN's Row LSTM (van den Oord et al. 2016), "
                "a triangular context; diagonal = PixelRNN's Diagonal BiLSTM, the full context (slow: a few seconds per "
                "snapshot on a CPU)", choices=("nade", "made", "pixelcnn", "gated", "wavenet", "rowlstm", "diagonal")),
        Setting("hidden", 256, "int", "NADE / MADE hidden units", 4, 4000, applies=(("model", ('nade', 'made')),)),
        Setting("channels", 32, "int", "PixelCNN / WaveNet channels, Row LSTM / Diagonal BiLSTM state units", 2, 256,
                applies=(("model", ('pixelcnn', 'gated', 'wavenet', 'rowlstm', 'diagonal')),)),
        Setting("layers", 5, "int", "PixelCNN layers after the first; WaveNet: dilated layers (dilations 1, 2, 4, ...: "
                "it sees the previous 2^layers pixels)", 1, 15, applies=(("model", ('pixelcnn', 'gated', 'wavenet')),)),
        Setting("order", "raster", "choice", "NADE / MADE ordering of the pixels", choices=("raster", "random"), applies=(("model", ('nade', 'made')),)),
        Setting("masks", 1, "int", "MADE: orderings / connectivities trained in turn (order-agnostic training); "
                "the test NLL averages them (an ensemble)", 1, 32, applies=(("model", ('made',)),)),
        Setting("binarize", "threshold", "choice", "static: pixel > 0.5, once; dynamic: a fresh Bernoulli "
                "draw of every training image at each step", choices=("threshold", "dynamic")),
        Setting("lr", 1e-3, "float", "Adam learning rate", 1e-5, 1.0, live=True, log_scale=True),
        Setting("batch", 64, "int", "minibatch size", 1, 4096, live=True),
        Setting("points", "", "str", "2-D points instead of images: a named set or a .csv/.npy of x,y rows, "
                "modelled on a grid of bins as p(x1 bin) p(x2 bin | x1 bin) (the image settings then do not apply)",
                suggestions=("", "ring8", "grid25", "moons", "spiral", "checkerboard")),
        Setting("bins", 48, "int", "2-D points: bins per axis", 4, 256),
        Setting("noise_mix", 0.0, "float", "Theis et al.'s counter-example: show the mixture (1 − w) p_model + w "
                "uniform noise (its exact test NLL and its samples) beside the trained model; w = 0: off", 0.0, 0.9999,
                live=True),
        Setting("image", 0, "int", "the test image whose per-pixel NLL, completions and receptive field are shown",
                0, 100000, live=True),
    ),
)
