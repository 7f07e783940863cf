"""One folder per lab: ``experiment.py`` (pure core) and ``panel.py`` (Qt), described by ``LAB``.

The package is also the Python API's ``genviz.labs()`` (the labs installed, by name: ``genviz.api.labs``): once
this package is imported it is the attribute ``genviz.labs``, so calling it must work too."""
import sys
import types


class _Labs(types.ModuleType):
    def __call__(self) -> dict:
        """The labs installed (genviz's own and any plugin's), by name (``genviz.api.labs``)."""
        from genviz.api import labs

        return labs()


sys.modules[__name__].__class__ = _Labs
