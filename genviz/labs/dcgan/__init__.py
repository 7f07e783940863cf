"""The DCGAN lab: a small deep convolutional GAN learns digits, its latent space walked by interpolation, and its
samples scored by a digit classifier (the Inception score's formula) against the real digits' own score."""
from genviz.core.labs import LabInfo
from genviz.core.settings import Setting

LAB = LabInfo(
    name="dcgan",
    cards="genviz.labs.dcgan.cards:CARDS", exact_checks="genviz.labs.dcgan.checks:dcgan_checks",
    title="GAN on images (DCGAN)",
    summary="A small DCGAN learns the digits; watch fixed latent points become digits, walk the latent space between "
            "them, and score the samples with a digit classifier against the real digits.",
    script="genviz.labs.dcgan.script:script",  # genviz export SESSION --format py
    experiment="genviz.labs.dcgan.experiment:DCGANExperiment",
    panel="genviz.labs.dcgan.panel:DCGANPanel",
    bench="genviz.labs.dcgan.bench:run",
    order=45,
    quick=(("channels", 8),),
    settings=(
        Setting("latent", 16, "int", "dimensions of z ~ N(0, I)", 1, 256),
        Setting("channels", 32, "int", "feature maps of the generator's last and the discriminator's first layer "
                "(the other layer has twice as many)", 4, 256),
        Setting("lr", 5e-4, "float", "Adam learning rate of G and D (β1 = 0.5, as in the DCGAN paper)", 1e-5, 1e-2,
                live=True, log_scale=True),
        Setting("batch", 64, "int", "minibatch size", 2, 1024, live=True),
        Setting("interpolation", "slerp", "choice", "how the interpolation view walks between two latent points: "
                "slerp = along the great circle (White 2016), linear = the straight line through the low-norm middle",
                choices=("slerp", "linear"), live=True),
    ),
)
