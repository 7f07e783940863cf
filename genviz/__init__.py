"""genviz: a desktop lab for deep generative models.

The package is split into a pure core (``genviz.core``, ``genviz.data``, ``genviz.models`` and the
``experiment`` modules of each lab) that never imports Qt, and a thin Qt layer (``genviz.ui`` and each
lab's ``panel`` module) that only renders snapshots and sends commands.
"""

__version__ = "0.1.0"
