"""The families' table (pure, no torch: the families lab's panel draws it): the measures every family is scored on,
the ranking in tiers, the cells as printed, Markdown and CSV, the lesson's criterion, and the installed family labs.
genviz.core.families computes the numbers; it re-exports these."""
from __future__ import annotations

import math

import numpy as np

# -- the table --------------------------------------------------------------------------------------------------
MEASURES = (  # (key, heading, better: "low" or "high")
    ("nll", "test NLL (nats)", "low"),
    ("hq_percent", "high quality %", "high"),
    ("modes", "modes", "high"),
    ("reverse_kl", "reverse KL of modes", "low"),
    ("sample_ms_per_1000", "ms / 1,000 samples", "low"),
    ("steps_per_sec", "training steps/s", "high"),
    ("lesson", "to the lesson", "low"),  # the training time (or steps) when every mode was covered at >= 80 % HQ
)
LESSON_HQ = 80.0  # the lesson of a mixture: every mode covered and at least this % of samples within 3 σ of one


def lesson_reached(coverage: dict) -> bool:
    """Whether samples scored by genviz.data.toy2d.mode_coverage show the lesson."""
    return coverage["modes"] == coverage["n_modes"] and coverage["hq_percent"] >= LESSON_HQ


def ranks(rows: list[dict], z: float = 2.0) -> dict[str, list[list[str]]]:
    """For each measure, the families from best to worst in tiers: families whose difference from the tier's first
    is within ``z`` standard errors of that difference (or equal, for counts) share a tier. Families without the
    measure are left out."""
    out = {}
    for key, _heading, better in MEASURES:
        have = [r for r in rows if r.get(key) is not None and math.isfinite(r[key])]
        have.sort(key=lambda r: r[key], reverse=better == "high")
        tiers: list[list[dict]] = []
        for r in have:
            if tiers:
                first = tiers[-1][0]
                se = math.hypot(first.get(f"{key}_se") or 0.0, r.get(f"{key}_se") or 0.0)
                if abs(r[key] - first[key]) <= z * se + 1e-12:
                    tiers[-1].append(r)
                    continue
            tiers.append([r])
        out[key] = [[r["family"] for r in tier] for tier in tiers]
    return out


def cell(row: dict, key: str) -> str:
    from genviz.core.numbers import estimate

    v = row.get(key)
    if key == "lesson":
        unit = row.get("lesson_unit", "s")
        if v is None:
            return "not reached" if row.get("modes") is not None else "–"
        return f"{v:.1f} s" if unit == "s" else f"{int(v):,} steps"
    if v is None:
        return "none (no likelihood)" if key == "nll" and row.get("likelihood") == "none" else "–"
    if not math.isfinite(v):
        return "∞ (zero density at a test point)" if key == "nll" else "–"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    se = row.get(f"{key}_se")
    text = estimate(v, se, 3 if abs(v) < 10 else 0 if abs(v) >= 100 else 1)
    return f"≤ {text}" if key == "nll" and row.get("likelihood") == "bound" else text


def markdown(rows: list[dict], entropy: tuple[float, float] | None = None, title: str = "") -> str:
    """The families' table (one row each, ± SE where a measure has one) and the ranking under it."""
    lines = [f"### {title}" if title else "", "",
             "| family | " + " | ".join(h for _k, h, _b in MEASURES) + " |",
             "|---|" + "---|" * len(MEASURES)]
    for r in rows:
        lines.append(f"| {r['family']} | " + " | ".join(cell(r, k) for k, _h, _b in MEASURES) + " |")
    if entropy is not None:
        from genviz.core.numbers import estimate

        lines += ["", f"The data's own entropy (the NLL no model can beat): {estimate(*entropy)} nats (Monte Carlo on "
                  "fresh data, the mixture's density exact)."]
    notes = [f"- {r['family']}: {r['note']}" for r in rows if r.get("note")]
    if notes:
        lines += ["", *notes]
    lines += ["", "Ranking (best first; a tier is a tie within 2 SE):"]
    order = ranks(rows)
    for key, heading, _b in MEASURES:
        if order[key]:  # families within 2 SE of each other share a tier
            lines.append(f"- {heading}: {' > '.join(' ≈ '.join(tier) for tier in order[key])}")
    lines.append("")
    lines.append("≈: within two standard errors (or equal counts); NLLs in nats per point, lower is better. The lesson: "
                 f"every mode covered with ≥ {LESSON_HQ:.0f} % of samples within 3 σ of one (first reached, scored at "
                 "fixed points of each family's training).")
    return "\n".join(lines).strip() + "\n"


def csv_text(rows: list[dict]) -> str:
    """The families' table as CSV: one row per family, every measure and its SE as numbers (empty where a family has
    none), then the likelihood kind and the note."""
    import csv
    import io

    keys = []
    for key, _h, _b in MEASURES:
        keys += [key, f"{key}_se"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["family", "lab", "steps", *keys, "likelihood", "lesson_unit", "note"])
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else repr(float(v))
                         if isinstance(v, float) else str(v))
        w.writerow([r["family"], r.get("lab", ""), r.get("steps", ""), *cells, r.get("likelihood", ""),
                    r.get("lesson_unit", ""), r.get("note", "")])
    return buf.getvalue()


def family_labs() -> dict[str, object]:
    """The installed labs that train a family on 2-D points (LabInfo.family), by family."""
    from genviz.core.labs import all_labs

    return {lab.family: lab for lab in all_labs().values() if lab.family}
