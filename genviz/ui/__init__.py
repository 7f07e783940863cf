"""The thin Qt layer: windows, shared plot widgets and controls. Renders snapshots, sends commands."""
import os

os.environ.setdefault("QT_API", "pyside6")  # a PyQt wheel may be installed too (docs/references.md)
