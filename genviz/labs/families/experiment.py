"""The families lab's experiment (pure core): one member experiment per model family, each the family's own lab
built on the same data and seed; each step advances one member, chosen so every family gets the same training time
(or the same number of steps), and each member is scored by genviz.core.families at fixed points of its own
training time: coverage and high-quality % (for mixtures), test NLL where it has a likelihood, and the first time
it reached the lesson (every mode covered, ≥ 80 % of samples within 3 σ of one)."""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch

from genviz.core.experiment import Experiment, to_numpy
from genviz.core.settings import SettingError
from genviz.core.families import LESSON_HQ, lesson_reached
from genviz.labs.families import LAB

SHOWN = 600  # samples drawn in each column (the same draws at every snapshot)
TEST_POINTS = 500  # held-out points of every family's test NLL
CALIBRATION_STEPS = 8  # timed steps of each family (on a copy) for the time budget


def step_cost(member: Experiment, steps: int = CALIBRATION_STEPS) -> float:
    """Seconds per training step of ``member``, timed on a copy (the member and every random stream untouched)."""
    twin = copy.deepcopy(member)
    with torch.random.fork_rng(devices=[]):
        twin.advance()  # a warm-up step: first calls allocate
        t0 = time.perf_counter()
        for _ in range(steps):
            twin.advance()
        return (time.perf_counter() - t0) / steps


class FamiliesExperiment(Experiment):
    LAB = LAB
    STATE_ATTRS = ("costs", "scored", "lesson_at", "measured", "scores")

    def __init__(self, settings: dict, seed: int = 0, device: str = "cpu", data: str | None = None):
        super().__init__(settings, seed, device, data)
        from genviz.core.families import family_labs, mixture_entropy
        from genviz.core.labs import import_object
        from genviz.core.settings import resolve
        from genviz.data.toy2d import make_toy

        s = self.settings
        self.data_name = data if data else s["data"]
        self.toy = make_toy(self.data_name)
        labs = family_labs()
        wanted = list(labs) if s["families"].strip() in ("", "all") else [
            f.strip() for f in s["families"].split(",") if f.strip()]
        unknown = [f for f in wanted if f not in labs]
        if unknown or not wanted:
            raise SettingError(f"families: no installed lab trains {', '.join(unknown) or 'nothing'} (installed: "
                               f"{', '.join(labs)})")
        self.families = list(dict.fromkeys(wanted))
        self.labs = {f: labs[f] for f in self.families}
        self.members: dict[str, Experiment] = {}
        for f, lab in self.labs.items():
            cls = import_object(lab.experiment)
            self.members[f] = cls(resolve(lab.settings, {lab.family_data: self.data_name}), seed=self.seed,
                                  device=str(self.device))
            if self.members[f].family_view() is None:
                raise SettingError(f"the {lab.name} lab gave no model of 2-D points for {self.data_name!r}")
        torch.manual_seed(self.seed)
        # seconds per step of each family, measured once (on copies) when the run starts: the time budget's schedule
        # follows them, so a run resumed from a checkpoint continues with the same steps (they are part of its state)
        self.costs = {f: step_cost(m) for f, m in self.members.items()} if s["budget"] == "time" else \
            {f: 1.0 for f in self.families}
        self.measured = {f: 0.0 for f in self.families}  # seconds each family's steps really took (shown only)
        self.scored = {f: 0 for f in self.families}  # scorings done per family
        self.lesson_at = {f: -1.0 for f in self.families}  # training time (or steps) of the lesson; -1: not yet
        self.scores: dict = {f: {} for f in self.families}  # each family's last scoring (nll, hq_percent, modes, SEs)
        rng = np.random.default_rng(self.seed + 99)
        self.x_test = torch.from_numpy(self.toy.sample(TEST_POINTS, rng))
        self.entropy = mixture_entropy(self.toy.modes, self.toy.std, 20000, rng) if self.toy.modes is not None \
            else None

    # -- the schedule ---------------------------------------------------------------------------
    def spent(self, f: str) -> float:
        """Family f's training so far: seconds (its steps × its step time; budget = time) or steps."""
        return self.members[f].step_count * self.costs[f]

    def interval(self) -> float:
        return self.settings["every"] * (1.0 if self.settings["budget"] == "time" else 100.0)

    def next_family(self) -> str:
        """The family that has trained least (ties: the first in order)."""
        return min(self.families, key=lambda f: (self.spent(f), self.families.index(f)))

    def train_step(self) -> dict[str, float]:
        f = self.next_family()
        t0 = time.perf_counter()
        metrics = self.members[f].advance()
        self.measured[f] += time.perf_counter() - t0
        out = {"family": float(self.families.index(f)), f"loss_{f}": float(metrics.get("loss", 0.0))}
        due = self.scored[f] + 1
        if self.spent(f) >= due * self.interval():
            self.score_member(f, due)
            self.scored[f] = due
        # every row carries each family's last scoring (t_FAMILY: the training time it was made at), so the curves
        # survive a history thinned to a few thousand rows (a shipped session) and a scrub finds the table
        for g, sc in self.scores.items():
            if sc:
                out[f"t_{g}"] = sc["at"]
                for key, name in (("nll", "nll"), ("nll_se", "nll_se"), ("modes", "modes"), ("hq", "hq_percent"),
                                  ("hq_se", "hq_percent_se")):
                    if name in sc:
                        out[f"{key}_{g}"] = float(sc[name])
        return out

    @torch.no_grad()
    def score_member(self, f: str, n: int) -> None:
        """Family f's scoring number n (at n × every of its training) into ``scores`` and ``lesson_at``: its own
        random draws (seeded by n), so the scores are part of the run and the same in every replay."""
        from genviz.core.families import coverage_of, shared_nll

        view = self.members[f].family_view()
        out = {f"t_{f}": float(self.spent(f))}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 7919 + n)
            if self.toy.modes is not None:
                cov = coverage_of(view, self.toy.modes, self.toy.std, self.seed * 1009 + n)
                out.update({f"modes_{f}": float(cov["modes"]), f"hq_{f}": float(cov["hq_percent"]),
                            f"hq_se_{f}": float(cov["hq_percent_se"])})
                if self.lesson_at[f] < 0 and lesson_reached(cov):
                    self.lesson_at[f] = float(self.spent(f))
            nll = shared_nll(view, self.x_test)
        if nll["nll"] is not None and math.isfinite(nll["nll"]):
            out[f"nll_{f}"] = float(nll["nll"])
            out[f"nll_se_{f}"] = float(nll["nll_se"])
        last = {"at": float(self.spent(f)), "likelihood": view.likelihood}
        for key, name in (("nll", "nll"), ("nll_se", "nll_se"), ("modes", "modes"), ("hq", "hq_percent"),
                          ("hq_se", "hq_percent_se")):
            if f"{key}_{f}" in out:
                last[name] = int(out[f"{key}_{f}"]) if key == "modes" else out[f"{key}_{f}"]
        self.scores[f] = last

    # -- views ------------------------------------------------------------------------------
    def static_info(self) -> dict:
        info = {"name": self.toy.name, "extent": tuple(float(v) for v in self.toy.extent),
                "families": list(self.families), "labs": {f: lab.name for f, lab in self.labs.items()},
                "titles": {f: lab.title for f, lab in self.labs.items()},
                "likelihood": {f: m.family_view().likelihood for f, m in self.members.items()},
                "budget": self.settings["budget"], "interval": self.interval(),
                "costs_ms": {f: 1000 * c for f, c in self.costs.items()} if self.settings["budget"] == "time" else {},
                "data_points": self.toy.sample(1500, np.random.default_rng(self.seed + 11)),
                "test_points": TEST_POINTS, "lesson_hq": LESSON_HQ}
        if self.toy.modes is not None:
            info.update(modes=self.toy.modes, std=float(self.toy.std))
        if self.entropy is not None:
            info.update(entropy=self.entropy[0], entropy_se=self.entropy[1])
        return info

    @torch.no_grad()
    def snapshot(self, heavy: bool) -> dict:
        out = {"spent": {f: self.spent(f) for f in self.families}, "steps": {f: m.step_count for f, m in
                                                                             self.members.items()},
               "measured": dict(self.measured), "lesson_at": dict(self.lesson_at),
               "scores": {f: dict(v) for f, v in self.scores.items()}}
        out.update(self.verdicts())
        if self.entropy is not None:  # the cards' NLL = H + KL
            out.update(entropy=self.entropy[0], entropy_se=self.entropy[1])
        if heavy:
            samples = {}
            for i, (f, m) in enumerate(self.members.items()):
                g = torch.Generator().manual_seed(self.seed * 31 + i)
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed * 37 + i)
                    samples[f] = to_numpy(m.family_view().sample(SHOWN, g))
            out["samples"] = samples
        return out

    def verdicts(self) -> dict:
        """What the last scorings say, as numbers a preset's lesson and prediction can name: ``best_nll`` the index
        (in ``families``) of the family with the lowest test NLL (-1: none scored yet); ``no_overall_winner`` 1 when
        no family is in the best tier (within 2 SE) of every live measure — test NLL, high-quality % and modes
        (a family without a likelihood cannot win the NLL) — else 0."""
        from genviz.core.families import ranks

        rows = [{"family": f, **{k: v for k, v in self.scores[f].items() if k in (
            "nll", "nll_se", "hq_percent", "hq_percent_se", "modes")}} for f in self.families]
        scored = [r for r in rows if len(r) > 1]
        if len(scored) < len(rows):
            return {"best_nll": -1.0, "no_overall_winner": 0.0}
        with_nll = [r for r in rows if r.get("nll") is not None]
        best = min(with_nll, key=lambda r: r["nll"])["family"] if with_nll else None
        measures = ("nll", "hq_percent", "modes") if self.toy.modes is not None else ("nll",)
        order = ranks(rows)
        firsts = [set(order[m][0]) if order.get(m) else set() for m in measures]
        everywhere = set(self.families).intersection(*firsts)
        return {"best_nll": float(self.families.index(best)) if best else -1.0,
                "no_overall_winner": 0.0 if everywhere else 1.0}

    def table(self, cost_repeats: int = 3) -> dict:
        """Every family scored now by genviz.core.families.score (the same test points), with its steps, training
        time and the time it reached the lesson; the ranking and the Markdown table."""
        from genviz.core.families import markdown, ranks, score

        rows = []
        for f, m in self.members.items():
            with torch.random.fork_rng(devices=[]):
                row = score(m.family_view(), self.x_test, self.toy.modes, self.toy.std, self.seed, cost_repeats)
            took = self.measured[f]
            row.update(lab=self.labs[f].name, steps=m.step_count, train_seconds=took,
                       steps_per_sec=m.step_count / took if took > 0 else None,
                       lesson=self.lesson_at[f] if self.lesson_at[f] >= 0 else None,
                       lesson_unit="s" if self.settings["budget"] == "time" else "steps")
            rows.append(row)
        unit = "s" if self.settings["budget"] == "time" else "steps"
        title = f"{self.toy.name}: " + ", ".join(f"{r['family']} {r['steps']:,} steps" for r in rows)
        return {"data": self.toy.name, "seed": self.seed, "rows": rows, "ranks": ranks(rows), "lesson_unit": unit,
                "entropy": None if self.entropy is None else {"nats": self.entropy[0], "se": self.entropy[1]},
                "markdown": markdown(rows, self.entropy, title)}

    QUERIES = {"table": {}}

    def query(self, name: str, **kwargs):
        if name == "table":
            return self.table()
        return super().query(name, **kwargs)

    def final_metrics(self) -> dict:
        t = self.table()
        out = {"lab": "families", "steps": self.step_count, "data": self.toy.name, "budget": self.settings["budget"]}
        for r in t["rows"]:
            f = r["family"]
            for key in ("nll", "nll_se", "modes", "hq_percent", "hq_percent_se", "sample_ms_per_1000",
                        "steps_per_sec", "lesson", "steps"):
                if r.get(key) is not None:
                    out[f"{f}_{key}"] = r[key]
        return out

    # -- checkpoints: every member's state inside this one's ------------------------------------------------
    def state_dict(self) -> dict:
        out = super().state_dict()
        out["members"] = {f: m.state_dict() for f, m in self.members.items()}
        return out

    def load_state_dict(self, state: dict) -> None:
        members = state.get("members")
        if not isinstance(members, dict) or set(members) != set(self.members):
            raise ValueError(f"the saved state does not fit this run's families ({', '.join(self.members)})")
        for f, m in self.members.items():
            m.load_state_dict(members[f])
        super().load_state_dict(state)

    def model_state(self) -> dict:
        return {"members": {f: m.model_state() for f, m in self.members.items()}}
