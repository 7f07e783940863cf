"""The flow lab: a normalizing flow warps a Gaussian into a complex density, one layer at a time."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

from genviz.models.choices import FLOW_TYPES as FLOWS

LAB = LabInfo(
    family="flow", family_data="data",  # genviz compare-families: this family on a 2-D data set
    name="flow",
    cards="genviz.labs.flow.cards:CARDS", exact_checks="genviz.labs.flow.checks:flow_checks",
    title="Flow density warping",
    summary="A normalizing flow bends a Gaussian into two moons or an energy landscape; step through its layers.",
    bench="genviz.labs.flow.bench:run",
    user_model="flow",  # a user's flow (--model-code): genviz.models.protocols.FlowModel
    script="genviz.labs.flow.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.flow.experiment:FlowExperiment",
    panel="genviz.labs.flow.panel:FlowPanel",
    order=30,
    quick=(("layers", 4), ("hidden", 16)),  # small networks for the contract checks
    data_kind="points",
    settings=(
        Setting("fit", "density", "choice", "density = maximum likelihood on samples (forward KL); "
                "energy = reverse KL to exp(-U)", choices=("density", "energy")),
        Setting("data", "moons", "str", "samples to fit (density mode): a named set or a .csv/.npy of x,y rows",
                suggestions=("moons", "checkerboard", "ring8", "grid25", "spiral", "gaussian"), applies=(("fit", ('density',)),)),
        Setting("energy", "U1", "str", "target U(z) (energy mode): U1-U4 or an expression in z1, z2",
                suggestions=("U1", "U2", "U3", "U4", "0.5*((sqrt(z1**2+z2**2)-2)/0.3)**2"), applies=(("fit", ('energy',)),)),
        Setting("flow", "spline", "choice", "transform type", choices=FLOWS),
        Setting("layers", 8, "int", "number of transforms K", 1, 64),
        Setting("hidden", 64, "int", "units in each conditioner network", 4, 512),
        Setting("bins", 8, "int", "spline bins", 2, 32, applies=(("flow", ('spline',)),)),
        Setting("beside", 0, "int", "density mode: also train a flow of the same type with this many layers on the "
                "same batches, drawn beside the main one (0 = none; e.g. 1 MADE beside 5 MAF layers)", 0, 64,
                applies=(("fit", ('density',)),)),
        Setting("lr", 1e-3, "float", "Adam learning rate", 1e-6, 1.0, live=True, log_scale=True),
        Setting("lr_halflife", 0, "int", "learning-rate half-life in steps (0 = constant)", 0, 1000000, live=True),
        Setting("batch", 512, "int", "samples per step", 16, 8192, live=True),
        Setting("anneal", 2000, "int", "energy mode: beta rises from 0.01 to 1 over this many steps "
                "(Rezende & Mohamed anneal too; without it planar flows often diverge)", 0, 100000, live=True, applies=(("fit", ('energy',)),)),
    ),
)


# planar flows fit the energies with a larger, decaying learning rate (measured: genviz bench flow)
_PLANAR_ENERGY = {"fit": "energy", "flow": "planar", "lr": 1e-2, "lr_halflife": 1500, "batch": 256, "anneal": 2000}

PRESETS = {
    "Spline flow on two moons": {"fit": "density", "data": "moons", "flow": "spline"},
    "Spline flow on the checkerboard (limit ln 32)": {"fit": "density", "data": "checkerboard", "flow": "spline"},
    "RealNVP on the checkerboard": {"fit": "density", "data": "checkerboard", "flow": "realnvp"},
    "MAF on the spiral": {"fit": "density", "data": "spiral", "flow": "maf"},
    **{f"Planar K=32 on {u}": {**_PLANAR_ENERGY, "energy": u, "layers": 32} for u in ("U1", "U2", "U3", "U4")},
    "Planar K=2 on U3 (too few layers)": {**_PLANAR_ENERGY, "energy": "U3", "layers": 2},
    "Planar K=8 on U3": {**_PLANAR_ENERGY, "energy": "U3", "layers": 8},
}
