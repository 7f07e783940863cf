"""Monte Carlo estimates as a reader should see them: with their standard error and no more digits
than it allows (docs/references.md, "Estimates on screen")."""
from __future__ import annotations

import math


def decimals_for(se: float, max_decimals: int = 6) -> int:
    """Decimals that keep the standard error's first two significant digits (0.0062 -> 4, 0.02 -> 3)."""
    if not math.isfinite(se) or se <= 0:
        return 3
    return int(min(max_decimals, max(0, 1 - math.floor(math.log10(se)))))


def estimate(value: float, se: float | None = None, decimals: int = 3) -> str:
    """'−26.972 ± 0.006' for a Monte Carlo estimate, the value rounded where its error allows;
    an exact value (``se`` None) with ``decimals``."""
    if not math.isfinite(value):
        return "–"
    if se is None or not math.isfinite(se):
        return f"{value:.{decimals}f}".replace("-", "−")
    d = decimals_for(se)
    return f"{value:.{d}f} ± {se:.{d}f}".replace("-", "−")
