"""The notebook's findings, checked against stored runs, with the seed-to-seed noise taken into account.

Each Finding names the settings it needs (its *roles*) and, for each, takes the whole seed group: every
finished run with those settings whatever its seed (your own runs where you have any, else the shipped
reference runs). It turns the groups' curves into a few Checks (verdicts.py): a number of ours as mean
± standard deviation over the seeds, and what its 95% interval says about the notebook's claim. Nothing
here is typed in: run the sweep (or train the settings yourself) and the table follows the curves.
Pure Python: no UI, no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import curves, tuning, verdicts
from .config import OPTIMIZERS, RunConfig
from .store import Run
from .verdicts import Check, direction, mean_sd, one_sample, welch, within

BASE = RunConfig()  # the notebook's 300-100 ReLU, SGD 0.01, batch 70
EQUIVALENT = 0.005  # "loses little accuracy": within half a point either way
HW = "Seconds depend on the machine that made the runs; the ratios travel better than the seconds."


@dataclass
class Finding:
    key: str
    title: str
    claim: str  # what the notebook said
    notebook: str  # the notebook's number
    needs: dict[str, RunConfig]  # role -> settings (seed and epochs ignored)
    measure: Callable[[dict[str, list[Run]], dict[str, float]], list[Check]]  # (groups, seconds per epoch)
    explain: str = ""  # why ours may differ
    missing_hint: str = ""  # how to make the missing runs, when the sweep command is not enough
    min_epochs: int = 1  # shorter runs of the same settings do not count (the tuned row: not its tuning runs)
    groups: dict[str, list[Run]] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    times_from: str = ""  # where its seconds per epoch come from, in words

    @property
    def missing(self) -> list[str]:
        return [role for role in self.needs if role not in self.groups] if self.needs else ["tuning runs"]

    @property
    def verdict(self) -> str | None:
        return verdicts.combine(self.checks) if self.checks else None

    @property
    def agrees(self) -> bool | None:
        return {verdicts.AGREES: True, verdicts.DIFFERS: False}.get(self.verdict)

    @property
    def ours(self) -> str:
        return "; ".join(c.text for c in self.checks) or "—"

    @property
    def verdict_text(self) -> str:
        """'agrees', 'differs', or why it cannot say (e.g. 'no difference detectable with 5 seeds')."""
        if self.verdict is None:
            return "runs missing"
        if self.verdict != verdicts.UNDECIDED:
            return self.verdict
        return "; ".join(dict.fromkeys(c.why for c in self.checks if c.verdict == verdicts.UNDECIDED))

    @property
    def seeds(self) -> int:
        return min((len(g) for g in self.groups.values()), default=0)


# --- per-run numbers -------------------------------------------------------------------------------
def _final(run: Run) -> float:
    return run.history[-1]["test_accuracy"]


# Time is not seed noise: an epoch's seconds depend on the machine and on what else it was doing,
# never on the seed. So for time a group's number is its fastest epoch over all its runs (the best of
# n, as timeit reports: other work can only slow an epoch down), and a time claim is decided on that
# number, with differences under TIME_NOISE treated as none. The seed-to-seed intervals are for accuracy.
TIME_NOISE = 0.05


def _spe(run: Run) -> float:
    """Seconds per epoch of one run: its fastest epoch."""
    return curves.fastest_epoch_seconds(run.history)


def _group_spe(group: list[Run]) -> float:
    """Seconds per epoch of a group: the fastest epoch of any of its runs."""
    return min(_spe(r) for r in group)


def _time_verdict(ratio: float, low: float = 1 + TIME_NOISE, high: float = float("inf")) -> tuple[str, str]:
    """A time ratio against the claimed range [low, high]; within TIME_NOISE of an edge says nothing."""
    if low <= ratio <= high:
        return verdicts.AGREES, ""
    edge = low if ratio < low else high
    if abs(ratio / edge - 1) <= TIME_NOISE and edge != 1 + TIME_NOISE:
        return verdicts.UNDECIDED, "within the timing noise (5%)"
    if edge == 1 + TIME_NOISE and ratio > 1 - TIME_NOISE:
        return verdicts.UNDECIDED, "no difference in time beyond the timing noise (5%)"
    return verdicts.DIFFERS, ""


PLATEAU = 0.002  # "trained": within 0.2 accuracy points of the run's best


def plateau(run: Run) -> int:
    """The first epoch whose test accuracy is within PLATEAU of the run's best: where it levels off."""
    best = curves.best(run.history)
    return next(h["epoch"] for h in run.history if h["test_accuracy"] >= best - PLATEAU)


def _finals(group: list[Run]) -> list[float]:
    return [_final(r) for r in group]


def _accuracy_of(name: str, group: list[Run]) -> str:
    return f"{name}: {mean_sd([100 * f for f in _finals(group)], lambda x: f'{x:.2f}%', lambda x: f'{x:.2f}')}"


def _same_accuracy(a: list[Run], b: list[Run], what: str) -> Check:
    """The claim "a loses little accuracy against b": the difference within ± EQUIVALENT."""
    iv = welch(_finals(b), _finals(a))
    verdict, why = within(iv, -EQUIVALENT, EQUIVALENT)
    text = f"{what} {verdicts.points(iv)}" if iv else f"{what} {100 * (np.mean(_finals(b)) - np.mean(_finals(a))):+.2f} points"
    return Check(text, verdict, why)


def _faster(fast: float, slow: float, what: str) -> Check:
    """The claim "fast takes less time per epoch than slow" (seconds per epoch of each)."""
    ratio = slow / fast
    verdict, why = _time_verdict(ratio)
    return Check(f"{what} {1 - 1 / ratio:.0%} faster per epoch ({fast:.2f} s against {slow:.2f} s)", verdict, why)


# --- the measurements ---------------------------------------------------------------------------------
def _topologies(g, t):
    checks = []
    for name, group in g.items():  # "near 98%": each mean within a point of it
        verdict, why = within(one_sample(_finals(group)), 0.97, 0.99)
        checks.append(Check(_accuracy_of(name, group), verdict, why))
    return checks


def _smaller_net(g, t):
    return [_faster(t["300-100"], t["500-150"], "300-100:"),
            _same_accuracy(g["300-100"], g["500-150"], "accuracy given up")]


def _pca(g, t):
    raw, pca = g["raw"], g["PCA-154"]
    info = [r.data.get("pca") or {} for r in pca]
    variance = float(np.mean([i.get("explained_variance", np.nan) for i in info]))
    fit = float(np.min([i.get("fit_seconds", np.nan) for i in info]))  # time: the fastest fit
    saved = t["raw"] - t["PCA-154"]
    epochs = min(len(r.history) for r in pca)
    kept = Check(f"keeps {variance:.1%} of the variance", verdicts.AGREES if variance >= 0.95 else verdicts.DIFFERS)
    if saved > 0:  # the fit is paid back once the epochs' savings add up to it, within the run
        cost = Check(f"saves {saved:.2f} s per epoch; the {fit:.2f} s fit is repaid after {fit / saved:.1f} epochs",
                     verdicts.AGREES if fit / saved < epochs else verdicts.DIFFERS)
    else:
        cost = Check(f"saves no time per epoch ({t['PCA-154']:.2f} s against {t['raw']:.2f} s), so the {fit:.2f} s "
                     f"fit is never repaid", verdicts.DIFFERS)
    return [kept, _same_accuracy(pca, raw, "accuracy lost"), cost]


def _total_seconds(group: list[Run], spe: float) -> float:
    fit = min(((r.data.get("pca") or {}).get("fit_seconds") or 0.0) for r in group)
    return spe * min(len(r.history) for r in group) + fit


def _pca_and_small(g, t):
    small, big = g["PCA-154, 300-100"], g["raw, 1568-500"]
    share = _total_seconds(small, t["PCA-154, 300-100"]) / _total_seconds(big, t["raw, 1568-500"])
    verdict, why = _time_verdict(1 / share)
    time = f"{share:.0%} of the big net's training time, PCA fit included"
    return [Check(time, verdict, why), _same_accuracy(small, big, "accuracy lost")]


def _bn_elu(g, t):
    (name, group), = g.items()
    epochs = [plateau(r) for r in group]
    seconds = np.mean(epochs) * t[name]
    verdict, why = within(one_sample(epochs), 10, 30)  # "about 20": trained by epoch 30, not before 10
    return [Check(f"levels off (within 0.2 points of its best) after {mean_sd(epochs, lambda x: f'{x:.1f}')} "
                  f"epochs, {seconds:.0f} s", verdict, why),
            Check(_accuracy_of("best", group).replace("best: ", "ends at "), None)]


def _bn_cost(g, t):
    checks = []
    for act in ("ReLU", "ELU"):
        ratio = t[f"{act} + BN"] / t[act]
        verdict, why = _time_verdict(ratio, 1.6, 2.5)  # "about twice"
        checks.append(Check(f"×{ratio:.2f} with {act}", verdict, why))
    return checks


def _elu_worst(g, t):
    checks = [Check(_accuracy_of("ELU", g["ELU"]), None)]
    for other in ("ReLU", "ReLU + BN", "ELU + BN"):
        iv = welch(_finals(g[other]), _finals(g["ELU"]))
        verdict, why = direction(iv)
        checks.append(Check(f"{other} − ELU {verdicts.points(iv) if iv else '(one seed)'}", verdict, why))
    return checks


def _nesterov_first(g, t):
    checks = [Check(_accuracy_of("nesterov", g["nesterov"]), None)]
    for other in ("adagrad", "rmsprop", "adam"):
        iv = welch(_finals(g["nesterov"]), _finals(g[other]))
        verdict, why = direction(iv)
        checks.append(Check(f"nesterov − {other} {verdicts.points(iv) if iv else '(one seed)'}", verdict, why))
    return checks


def findings(runs: Sequence[Run] = ()) -> list[Finding]:
    """The notebook's findings, in its order. ``runs`` are needed only to know the tuned rates."""
    big, mid, small = BASE.replace(hidden=(1568, 500)), BASE.replace(hidden=(500, 150)), BASE.replace(hidden=(100, 30))
    elu, relu_bn, elu_bn = BASE.replace(activation="elu"), BASE.replace(batch_norm=True), \
        BASE.replace(activation="elu", batch_norm=True)
    chosen = tuning.choose(runs)
    tuned = ({o: tuning.tuned(o, chosen[o]["rate"]) for o in OPTIMIZERS} if len(chosen) == len(OPTIMIZERS) else {})
    bn_claim = "With batch norm, ELU is trained (its accuracy levels off) after about 20 epochs (39 s)."
    return [
        Finding("topologies", "Every topology ends near 98%",
                "Hidden sizes bigger than the input, a bit smaller and much smaller all end near 98% "
                "(ours: each mean's interval within 97-99%).", "≈ 98% for all four",
                {"1568-500": big, "500-150": mid, "300-100": BASE, "100-30": small}, _topologies),
        Finding("smaller_net", "300-100 is much faster than a bigger net, for little accuracy",
                "300-100 trains about 41% faster than the bigger net and loses about 0.15% accuracy "
                "(ours: faster, and the accuracy given up within ±0.5 points).",
                "41% faster, -0.15%", {"300-100": BASE, "500-150": mid}, _smaller_net, HW),
        Finding("pca", "PCA-154 keeps 95% of the variance, but its fit costs time",
                "154 principal components keep 95% of the variance and lose little accuracy (ours: within "
                "±0.5 points); the notebook never timed the PCA fit, which eats the gain on small models.",
                "95% kept, fit not timed", {"raw": BASE, "PCA-154": BASE.replace(pca=154)}, _pca,
                "Our PCA fit uses scikit-learn's covariance eigensolver, which is fast for 784 pixels; "
                "the notebook's timing of the fit was missing, so only ours has this number. " + HW),
        Finding("pca_small", "PCA with a smaller net pays off",
                "The same ratio of compression, PCA-154 with 300-100 against raw pixels with 1568-500, saves "
                "most of the time for almost the same accuracy (ours: within ±0.5 points).", "large saving",
                {"PCA-154, 300-100": BASE.replace(pca=154), "raw, 1568-500": big}, _pca_and_small, HW),
        Finding("bn_elu", "BN + ELU is trained after about 20 epochs (our evaluation: moving averages)",
                bn_claim + " Ours: the epoch where it levels off, its interval within 10-30.",
                "20 epochs (39 s)", {"ELU + BN": elu_bn}, _bn_elu,
                "Evaluated with batch norm's moving averages, as Keras does. " + HW),
        Finding("bn_elu_batch", "BN + ELU is trained after about 20 epochs (the notebook's evaluation: "
                "test-batch statistics)", bn_claim + " Here evaluated as the notebook did (training=True: "
                "the test set normalised by its own statistics, bn_eval=batch).",
                "20 epochs (39 s)", {"ELU + BN (batch)": elu_bn.replace(bn_eval="batch")}, _bn_elu,
                "Test-batch statistics let early epochs look better than the moving averages do. " + HW),
        Finding("bn_cost", "Batch norm about doubles the time per epoch",
                "Each epoch with batch norm costs about twice as long (ours: the ratio of the fastest epochs "
                "within ×1.6-×2.5).", "x2",
                {"ReLU": BASE, "ReLU + BN": relu_bn, "ELU": elu, "ELU + BN": elu_bn}, _bn_cost,
                "Our trainer is compiled with XLA, which fuses batch norm's element-wise work into the "
                "matrix products, so BN costs less extra here than in the notebook's TF1 graph."),
        Finding("elu_worst", "ELU without batch norm is the worst of the four",
                "Of ReLU, ReLU+BN, ELU and ELU+BN, plain ELU ends lowest.", "ELU worst",
                {"ReLU": BASE, "ReLU + BN": relu_bn, "ELU": elu, "ELU + BN": elu_bn}, _elu_worst),
        Finding("optimizers", "Nesterov rather than the adaptive optimizers (all at the notebook's rate 0.01)",
                "The notebook recommends Nesterov momentum over Adagrad, RMSprop and Adam.", "Nesterov",
                {o: BASE.replace(optimizer=o) for o in OPTIMIZERS}, _nesterov_first,
                "All six use the notebook's learning rate 0.01, which is large for the adaptive methods "
                "(Adam's usual default is 0.001): see the tuned row."),
        Finding("optimizers_tuned", "Nesterov rather than the adaptive optimizers (each at its tuned rate)",
                "The same claim with each optimizer at the rate that did best on 5,000 held-out training "
                "images (the test set plays no part in the choice): Wilson et al. 2017 found adaptive "
                "methods generalise worse even when tuned.", "Nesterov",
                tuned, _nesterov_first,
                "Rates: " + ", ".join(f"{o} {c['rate']:g}" for o, c in chosen.items()) + "." if chosen else "",
                missing_hint="python -m mnist_core sweep --preset tuning, then sweep --preset tuned --seeds 5",
                # the runs that chose the rate are not evidence for it: only the longer runs made after
                min_epochs=tuning.TUNING_EPOCHS + 1),
    ]


def _settings_key(config: RunConfig) -> str:
    return config.replace(seed=BASE.seed, epochs=1).config_hash


def pick_group(runs: Sequence[Run], settings: RunConfig, keys: dict | None = None, min_epochs: int = 1) -> list[Run]:
    """Every finished run with these settings, one per seed: your own runs if you have any (so re-running
    a cell here puts this machine's numbers on the page), else the shipped reference runs; of those, the
    ones with the most epochs, the newest per seed."""
    want = _settings_key(settings)
    keys = keys if keys is not None else {}
    matches = []
    for r in runs:
        if r.status != "finished" or len(r.history) < min_epochs:
            continue
        if r.run_id not in keys:
            keys[r.run_id] = _settings_key(r.config)
        if keys[r.run_id] == want:
            matches.append(r)
    if any(not r.reference for r in matches):
        matches = [r for r in matches if not r.reference]
    longest = max((len(r.history) for r in matches), default=0)
    per_seed: dict[int, Run] = {}
    for r in sorted((r for r in matches if len(r.history) == longest), key=lambda r: r.data.get("created", "")):
        per_seed[r.config.seed] = r
    return [per_seed[s] for s in sorted(per_seed)]


def seconds_per_epoch(f: Finding, timing: dict | None) -> tuple[dict[str, float], str]:
    """Each role's seconds per epoch, all from one source so their ratios are fair: your own runs on
    this server when every role has some; else the timing file (every setting measured back to back,
    see timing.py); else each group's fastest epoch (runs made at different times: rough)."""
    from .timing import key

    fastest = {role: _group_spe(g) for role, g in f.groups.items()}
    if all(not r.reference for g in f.groups.values() for r in g):
        return fastest, "your runs on this server (fastest epochs)"
    table = (timing or {}).get("seconds_per_epoch", {})
    if all(key(c) in table for c in f.needs.values()):
        env = timing.get("environment", {})
        return ({role: table[key(c)] for role, c in f.needs.items()},
                f"measured back to back on {env.get('machine', '?')} with {env.get('cpu_count', '?')} CPUs, "
                f"{timing.get('created', '')[:10]} (python -m mnist_core.timing)")
    return fastest, "each group's fastest epoch (runs made at different times: rough)"


def evaluate(runs: Sequence[Run], timing: dict | None = None) -> list[Finding]:
    """Every finding with its seed groups found and its checks computed (or its missing roles listed).
    ``timing``: a timing file's contents (timing.read), for the time claims."""
    keys: dict[str, str] = {}
    out = []
    for f in findings(runs):
        f.groups = {role: g for role, c in f.needs.items() if (g := pick_group(runs, c, keys, f.min_epochs))}
        if not f.missing:
            times, f.times_from = seconds_per_epoch(f, timing)
            f.checks = f.measure(f.groups, times)
        out.append(f)
    return out


def machines(findings_: Sequence[Finding]) -> list[str]:
    """The machines the findings' runs were measured on, in words ('x86_64, 2 CPUs, TensorFlow 2.21.0')."""
    seen = {}
    for f in findings_:
        for group in f.groups.values():
            for r in group:
                env = r.data.get("environment") or {}
                text = (f"{env.get('machine', '?')}, {env.get('cpu_count', '?')} CPUs, TensorFlow "
                        f"{env.get('tensorflow', '?')}" + (" (shipped reference runs)" if r.reference else " (this server)"))
                seen[text] = True
    return list(seen)


def markdown_table(findings_: Sequence[Finding]) -> str:
    """The claim table as Markdown, for the README: ``python -m mnist_core.study``."""
    rows = ["| claim | notebook | ours: mean ± sd (seeds) | verdict |", "| --- | --- | --- | --- |"]
    rows += [f"| {f.title} | {f.notebook} | {f.ours} | {f.verdict_text} |" for f in findings_]
    return "\n".join(rows)


if __name__ == "__main__":
    from . import timing as timing_mod
    from .store import RunStore

    store = RunStore()
    print(markdown_table(evaluate(store.list(), timing_mod.read(store.user_dir) or timing_mod.read(store.reference_dir))))
