"""The claim table computed from a small synthetic store (made-up curves with known answers): which
runs a finding takes, what it shows, and what is missing."""

import shutil

import pytest

from mnist_core import study, tuning
from mnist_core.config import OPTIMIZERS
from mnist_core.store import RunStore
from tests.helpers import stored_run

B = study.BASE.replace(epochs=3)


def _curve(final, seed, epochs=3):
    j = (seed - 44) * 0.0005
    return [final - 0.02 + j] * (epochs - 2) + [final - 0.01 + j, final + j]


def _ship(store, config, final, spe, seeds=(42, 43, 44, 45, 46)):
    for seed in seeds:
        run = stored_run(store, config.replace(seed=seed), _curve(final, seed, config.epochs), seconds_per_epoch=spe)
        if config.uses_pca:
            store.update(run.run_id, pca={"components": 154, "explained_variance": 0.9502,
                                          "fit_seconds": 0.3, "cached": False})


@pytest.fixture(scope="module")
def _shipped(tmp_path_factory):
    """The reference runs, stored once per module (75 runs); each test gets its own copy."""
    folder = tmp_path_factory.mktemp("ref")
    shipped = RunStore(folder)
    spec = [  # settings, final accuracy, seconds per epoch
        (B.replace(hidden=(1568, 500)), 0.981, 5.0), (B.replace(hidden=(500, 150)), 0.9815, 1.0),
        (B, 0.980, 0.6), (B.replace(hidden=(100, 30)), 0.976, 0.3),
        (B.replace(pca=154), 0.979, 0.4), (B.replace(hidden=(1568, 500), pca=154), 0.981, 2.5),
        (B.replace(activation="elu"), 0.975, 0.6), (B.replace(batch_norm=True), 0.9805, 1.1),
        (B.replace(activation="elu", batch_norm=True), 0.982, 1.2),
        (B.replace(activation="elu", batch_norm=True, bn_eval="batch"), 0.983, 1.2),
        *[(B.replace(optimizer=o), {"nesterov": 0.983, "adam": 0.97}.get(o, 0.979), 0.7)
          for o in OPTIMIZERS if o != "sgd"],
    ]
    for config, final, spe in spec:
        _ship(shipped, config, final, spe)
    return folder


@pytest.fixture
def store(tmp_path, _shipped):
    shutil.copytree(_shipped, tmp_path / "ref")
    return RunStore(tmp_path / "user", tmp_path / "ref")


def _by_key(store):
    return {f.key: f for f in study.evaluate(store.list())}


def test_every_finding_is_computed_from_the_seed_groups(store):
    found = _by_key(store)
    assert list(found) == ["topologies", "smaller_net", "pca", "pca_small", "bn_elu", "bn_elu_batch", "bn_cost",
                           "elu_worst", "optimizers", "optimizers_tuned"]
    assert all(not f.missing for k, f in found.items() if k != "optimizers_tuned")
    assert all(f.seeds == 5 for k, f in found.items() if k != "optimizers_tuned")
    # The table as the Study page and the README show it, every number worked out from the fixture: five
    # seeds at -0.1, -0.05, 0, +0.05, +0.1 points around each final accuracy (sd 0.08 points), a 95%
    # interval of ±0.115 points on a difference of two such groups (Welch, 8 degrees of freedom).
    ci = "n = 5 and 5"
    assert {k: (f.ours, f.verdict_text) for k, f in found.items()} == {
        "topologies": ("1568-500: 98.10% ± 0.08 (5); 500-150: 98.15% ± 0.08 (5); 300-100: 98.00% ± 0.08 (5); "
                       "100-30: 97.60% ± 0.08 (5)", "agrees"),
        "smaller_net": ("300-100: 40% faster per epoch (0.60 s against 1.00 s); accuracy given up +0.15 points "
                        f"(95% CI +0.03 to +0.27, {ci})", "agrees"),
        "pca": (f"keeps 95.0% of the variance; accuracy lost +0.10 points (95% CI -0.02 to +0.22, {ci}); saves "
                "0.20 s per epoch; the 0.30 s fit is repaid after 1.5 epochs", "agrees"),
        # (3 x 0.4 s + a 0.3 s fit) / (3 x 5.0 s); 98.1% against 97.9%
        "pca_small": ("10% of the big net's training time, PCA fit included; accuracy lost +0.20 points "
                      f"(95% CI +0.08 to +0.32, {ci})", "agrees"),
        # three-epoch curves reach their best at the last epoch: 3 x 1.2 s
        "bn_elu": ("levels off (within 0.2 points of its best) after 3.0 ± 0.0 (5) epochs, 4 s; ends at "
                   "98.20% ± 0.08 (5)", "differs"),
        "bn_elu_batch": ("levels off (within 0.2 points of its best) after 3.0 ± 0.0 (5) epochs, 4 s; ends at "
                         "98.30% ± 0.08 (5)", "differs"),
        "bn_cost": ("×1.83 with ReLU; ×2.00 with ELU", "agrees"),  # 1.1 / 0.6 and 1.2 / 0.6
        "elu_worst": (f"ELU: 97.50% ± 0.08 (5); ReLU − ELU +0.50 points (95% CI +0.38 to +0.62, {ci}); ReLU + BN "
                      f"− ELU +0.55 points (95% CI +0.43 to +0.67, {ci}); ELU + BN − ELU +0.70 points (95% CI "
                      f"+0.58 to +0.82, {ci})", "agrees"),
        "optimizers": (f"nesterov: 98.30% ± 0.08 (5); nesterov − adagrad +0.40 points (95% CI +0.28 to +0.52, {ci}); "
                       f"nesterov − rmsprop +0.40 points (95% CI +0.28 to +0.52, {ci}); nesterov − adam +1.30 "
                       f"points (95% CI +1.18 to +1.42, {ci})", "agrees"),
        "optimizers_tuned": ("—", "runs missing"),
    }


def test_your_own_runs_replace_the_shipped_ones_and_fewer_epochs_do_not_count(store):
    base_user = [stored_run(store, B.replace(activation="elu", batch_norm=True, seed=s), [0.9, 0.91, 0.92])
                 for s in (42, 43)]
    found = _by_key(store)["elu_worst"]
    assert [r.run_id for r in found.groups["ELU + BN"]] == [r.run_id for r in base_user]
    assert found.verdict == "differs"  # ELU + BN now ends below plain ELU
    assert all(r.reference for r in found.groups["ELU"])
    assert _by_key(store)["bn_cost"].groups["ELU + BN"][0].reference is False


def test_missing_runs_are_listed(tmp_path):
    found = _by_key(RunStore(tmp_path / "empty", None))
    assert found["optimizers"].missing == list(OPTIMIZERS) and found["optimizers"].agrees is None
    assert found["optimizers"].verdict_text == "runs missing"
    assert found["optimizers_tuned"].missing == ["tuning runs"]


def test_the_tuned_row_uses_each_optimizers_chosen_rate(store, tmp_path):
    shipped = RunStore(tmp_path / "ref")
    for c in tuning.tuning_grid():
        run = stored_run(shipped, c, [0.9])
        good = c.learning_rate == tuning.GRIDS[c.optimizer][2]
        shipped.update(run.run_id, change=lambda d, g=good: d["history"][-1].update(val_accuracy=0.97 if g else 0.9))
    tuned = study.evaluate(store.list())[-1]
    assert {role: c.learning_rate for role, c in tuned.needs.items()} == {o: tuning.GRIDS[o][2] for o in OPTIMIZERS}
    assert tuned.missing == list(OPTIMIZERS)
    for o in OPTIMIZERS:
        _ship(shipped, tuning.tuned(o, tuning.GRIDS[o][2], epochs=21), 0.98 if o != "adam" else 0.985, 0.7)
    tuned = study.evaluate(store.list())[-1]
    assert not tuned.missing and tuned.verdict == "differs"  # tuned Adam beats Nesterov here
    assert tuned.explain == "Rates: " + ", ".join(f"{o} {tuning.GRIDS[o][2]:g}" for o in OPTIMIZERS) + "."


def test_time_claims_come_from_one_timing_file_measured_back_to_back(store, tmp_path):
    """Seed groups trained over hours mix quiet and busy epochs; the timing file measures every setting
    in one process (tests/test_timing.py measures one), and its ratios decide the time claims (here:
    batch norm about doubles an epoch, though the seed groups say ×1.8)."""
    import json

    from mnist_core import timing

    cells = [study.BASE, study.BASE.replace(batch_norm=True)]
    # The study looks the settings up without train_examples: the file as the full-data run writes it.
    table = {timing.key(c.replace(activation=a)): spe for c in cells for a in ("relu", "elu")
             for spe in [2.0 if c.batch_norm else 1.0]}
    (tmp_path / "ref" / timing.FILE).write_text(json.dumps({"seconds_per_epoch": table, "created": "2026-11-28T10:00",
                                                            "environment": {"machine": "x86_64", "cpu_count": 2}}))
    found = {f.key: f for f in study.evaluate(store.list(), timing.read(tmp_path / "ref"))}
    assert found["bn_cost"].ours == "×2.00 with ReLU; ×2.00 with ELU" and found["bn_cost"].agrees
    assert found["bn_cost"].times_from == "measured back to back on x86_64 with 2 CPUs, 2026-11-28 (python -m mnist_core.timing)"
    assert found["smaller_net"].times_from.startswith("each group's fastest epoch")  # 500-150 not in the file
    assert {f.key: f for f in study.evaluate(store.list())}["bn_cost"].times_from.startswith("each group's")
    # a timing file that does not say where it was measured
    unknown = {f.key: f for f in study.evaluate(store.list(), {"seconds_per_epoch": table, "environment": {}, "created": ""})}
    assert unknown["bn_cost"].times_from == "measured back to back on ? with ? CPUs,  (python -m mnist_core.timing)"


def test_a_seed_trained_twice_counts_once_with_its_newer_run(store):
    older, newer = (stored_run(store, B.replace(activation="elu", seed=42), [0.9, 0.91, acc]) for acc in (0.92, 0.95))
    store.update(older.run_id, created="2026-12-01T10:00:00+00:00")
    store.update(newer.run_id, created="2026-12-02T10:00:00+00:00")
    for first in (older, newer):  # whichever the listing gives first
        runs = sorted(store.list(), key=lambda r: r.run_id != first.run_id)
        assert [r.run_id for r in study.pick_group(runs, B.replace(activation="elu"))] == [newer.run_id]


def test_the_page_says_which_machines_the_runs_were_made_on(store):
    mine = stored_run(store, B.replace(activation="elu", batch_norm=True, seed=42), [0.9, 0.91, 0.92])
    store.update(mine.run_id, environment={"machine": "arm64", "cpu_count": 8, "tensorflow": "2.21.0"})
    shipped_env = {"machine": "x86_64", "cpu_count": 2, "tensorflow": "2.21.0"}
    for r in store.list():
        if r.reference:
            RunStore(r.path.parent).update(r.run_id, environment=shipped_env)
    assert study.machines(study.evaluate(store.list())) == [
        "x86_64, 2 CPUs, TensorFlow 2.21.0 (shipped reference runs)", "arm64, 8 CPUs, TensorFlow 2.21.0 (this server)"]
    store.update(mine.run_id, environment=None)  # a run from before environments were stored
    assert "?, ? CPUs, TensorFlow ? (this server)" in study.machines(study.evaluate(store.list()))


def test_the_readme_table_has_a_row_per_finding(store):
    found = study.evaluate(store.list())
    lines = study.markdown_table(found).splitlines()
    assert lines[:2] == ["| claim | notebook | ours: mean ± sd (seeds) | verdict |", "| --- | --- | --- | --- |"]
    assert len(lines) == 2 + len(found)
    f = found[0]
    assert lines[2] == f"| {f.title} | {f.notebook} | {f.ours} | {f.verdict_text} |"


def test_the_readme_shows_the_table_the_shipped_runs_give(tmp_path):
    """The README's claim table is the Study page's on the shipped reference runs, row for row: a changed
    title, claim number, measurement or verdict (or a README left behind after new runs) shows here."""
    from mnist_core import timing
    from mnist_core.store import DEFAULT_REFERENCE_DIR, PROJECT_DIR

    shipped = RunStore(tmp_path / "none", DEFAULT_REFERENCE_DIR)
    table = study.markdown_table(study.evaluate(shipped.list(), timing.read(DEFAULT_REFERENCE_DIR)))
    readme = (PROJECT_DIR / "README.md").read_text()
    assert table.splitlines()[0] in readme
    start = readme.index(table.splitlines()[0])
    assert readme[start:start + len(table) + 1] == table + "\n"


def test_each_finding_says_its_claim_and_why_ours_differs_in_sentences(store):
    """The Study page shows each finding's claim under its title and the explanation beside its verdict;
    a missing finding names the command that makes its runs."""
    from mnist_core import sweep

    for f in study.evaluate(store.list()):
        assert isinstance(f.explain, str) and isinstance(f.claim, str) and f.claim, f.key
        for text in filter(None, (f.claim, f.explain)):
            assert (text[0].isupper() or text[0].isdigit()) and text.endswith(".") and text != text.upper(), text
        # every finding that compares seconds says they depend on the machine
        if any(" s " in c.text or c.text.endswith(" s") or "time" in c.text for c in f.checks):
            assert f.explain.endswith(study.HW), f.key
        for command in filter(None, f.missing_hint.split(", then ")):
            words = command.removeprefix("python -m mnist_core ").split()
            assert words[0] == "sweep" and words[words.index("--preset") + 1] in sweep.PRESETS, command
    tuned = study.evaluate(store.list())[-1]
    assert tuned.missing_hint.startswith("python -m mnist_core sweep --preset tuning, then sweep ")
