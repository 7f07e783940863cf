"""The names of the model choices the labs offer, one torch-free list each: a lab's settings (which
the GUI lists before torch loads) and the models that build them read the same tuple."""

FLOW_TYPES = ("planar", "radial", "realnvp", "maf", "iaf", "spline")

GAN_LOSSES = ("minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge")
CRITIC_LOSSES = ("wgan", "wgan-gp", "hinge")  # outputs are scores, not logits of a probability
