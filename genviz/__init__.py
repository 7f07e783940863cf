"""genviz: a desktop lab for deep generative models.

The package is split into a pure core (``genviz.core``, ``genviz.data``, ``genviz.models`` and the
``experiment`` modules of each lab) that never imports Qt, and a thin Qt layer (``genviz.ui`` and each
lab's ``panel`` module) that only renders snapshots and sends commands.
"""

__version__ = "0.2.0"


API = ("Run", "labs", "presets", "open_session", "describe", "Animation")  # genviz.api: the labs from Python


def __getattr__(name: str):
    """``genviz.Run``, ``genviz.labs()``, ``genviz.presets()``, ``genviz.open_session()``, ``genviz.describe()``
    (``genviz.api``) and ``genviz.watch`` (your own training loop, watched: ``genviz.watching``), imported when
    first used, so that ``import genviz`` stays cheap."""
    if name in API:
        from genviz import api

        return getattr(api, name)
    if name in ("watch", "Watch"):
        from genviz import watching

        return getattr(watching, name)
    raise AttributeError(f"module 'genviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API, "watch", "Watch"])
