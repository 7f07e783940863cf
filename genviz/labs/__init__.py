"""One folder per lab: ``experiment.py`` (pure core) and ``panel.py`` (Qt), described by ``LAB``."""
