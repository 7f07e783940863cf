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


def bound_text(value: float, se: float | None, limit: float, limit_name: str = "log p(x)") -> str:
    """A Monte Carlo estimate of a lower bound on ``limit``, as a table prints it. An estimate above what
    it bounds is noise, never a fact: within one standard error it reads "≈ log p(x), within 1 SE",
    beyond it says by how many standard errors (printing −26.599 ± 0.011 under log p(x) = −26.604
    stated an impossible order)."""
    text = estimate(value, se)
    if not (math.isfinite(value) and math.isfinite(limit)) or value <= limit:
        return text
    if se is None or not math.isfinite(se) or se <= 0:
        return f"{text} (≈ {limit_name}: rounding)"
    z = (value - limit) / se
    if z <= 1.0:
        return f"≈ {limit_name}, within 1 SE ({text})"
    return f"{text}, {z:.1f} SE above {limit_name}" + (" (Monte Carlo noise)" if z <= 3.0 else " (check the estimate)")


def reverse_kl_text(cov: dict) -> str:
    """The reverse KL of ``genviz.data.toy2d.mode_coverage`` as a readout says it: with its standard error and the plug-in's bias,
    or, with too few high-quality samples, the value and why no error is given."""
    kl = cov["reverse_kl"]
    if not math.isfinite(kl):
        return "undefined (no high-quality sample)"
    se, bias = cov.get("reverse_kl_se"), cov.get("reverse_kl_bias")
    if se is None:
        # (no "<": the readouts are rich text, where "< 80)" began a tag and cut the line)
        return f"{kl:.2f} (too few high-quality samples for an error: {cov.get('n_hq', 0)} of the {cov.get('min_hq', 0)} needed)"
    text = estimate(kl, se)
    return text + (f" (plug-in, biased up by ≈ {bias:.3f})" if bias else "")
