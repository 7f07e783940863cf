"""Generative models with a torch.distributions-style interface (pure core)."""
