"""A flow from a third-party library (zuko's neural spline flow), for genviz's flow lab.

    pip install zuko
    genviz train flow --model-code docs/examples/zuko_flow.py:make --steps 500
    genviz --lab flow --model-code docs/examples/zuko_flow.py:make

A zuko flow is a torch module that returns a ``torch.distributions.Distribution`` when called; genviz takes its
``log_prob`` and samples as they are, and walks its transforms for the layer views (the warped grid, the density
after each layer), checking each against autograd's Jacobian at load. A torch ``TransformedDistribution`` built from
a module's parameters works the same way (``genviz.models.protocols.FlowModel``)."""
import zuko


def make(shape=(2,), transforms: int = 4, **_):
    """genviz's factory: ``shape`` is (2,) in the flow lab."""
    return zuko.flows.NSF(features=shape[0], transforms=transforms, hidden_features=(64, 64))
