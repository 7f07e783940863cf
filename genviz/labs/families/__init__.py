"""The families lab: every installed model family (GAN, flow, autoregressive, VAE, diffusion: the labs that declare
``LabInfo.family``) trains on the same 2-D data, with the same seed, for an equal share of training time or an equal
number of steps, one column per family, scored by the same metrics (genviz.core.families)."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

LAB = LabInfo(
    name="families",
    cards="genviz.labs.families.cards:CARDS",
    title="Families on one data set",
    summary="GAN, flow, autoregressive model, VAE and diffusion model learn the same 2-D data side by side, for the "
            "same training time; one table scores them all: test NLL, modes, sample quality, cost.",
    experiment="genviz.labs.families.experiment:FamiliesExperiment",
    panel="genviz.labs.families.panel:FamiliesPanel",
    order=90,
    menu="Compare families…",  # File ▸ Compare families…: opens this lab on the open lab's 2-D data
    quick=(("every", 2.0),),
    data_kind="points",
    settings=(
        Setting("data", "ring8", "str", "2-D data every family learns: a named set, or a .csv/.npy file of x,y rows",
                suggestions=("ring8", "grid25", "moons", "spiral", "checkerboard", "gaussian")),
        Setting("budget", "time", "choice", "time = each family trains for the same time (its steps in inverse "
                "proportion to its step time, measured on this machine when the run starts); steps = the same "
                "number of steps each", choices=("time", "steps")),
        Setting("families", "all", "str", "the families to train, comma-separated (gan, flow, autoregressive, vae, "
                "diffusion), or all", suggestions=("all", "gan,flow", "flow,autoregressive,vae,diffusion")),
        Setting("every", 3.0, "float", "seconds of each family's training time (budget = time) or hundreds of its "
                "steps (budget = steps) between its scorings: coverage, high-quality % and test NLL", 0.5, 600.0),
    ),
)
