"""Pure core: settings, lab registry, the experiment contract and the training engine (no Qt)."""
