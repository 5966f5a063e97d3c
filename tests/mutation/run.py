"""Mutation testing of the pure-Python core, module by module, and a score table.

    make mutation                      # every module below, then the table
    python -m tests.mutation.run store study   # some modules
    python -m tests.mutation.run --table       # only print the table of the last run
    python -m tests.mutation.run --recheck store   # after adding tests: run only its survivors again
    python -m tests.mutation.run --quick store     # mutants not run yet, against test_store.py alone

mutmut (configured in pyproject.toml, [tool.mutmut]) copies mnist_core/ to mutants/, makes one small
change at a time (a flipped comparison, a changed constant, a dropped argument) and runs the fast unit
tests that cover the changed function. A mutant is *killed* when a test fails; one that *survives*
is a change no test notices: either a missing test or an equivalent mutant (the program behaves the
same). Survivors we judged equivalent are listed with a reason in tests/mutation/survivors.md.

Slow: every mutant runs pytest. On a shared 2-core machine it runs with low priority and at most
MUTMUT_CHILDREN (default 2) mutants at once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
MUTMUT = [sys.executable, "-m", "mutmut"]

# Module -> mutant name patterns. data.py: only the part that checks files (finding, reading and
# validating MNIST); PCA and loading through Keras are learning code, tested with real data elsewhere.
MODULES = {
    "config": ["mnist_core.config.*"],
    "fields": ["mnist_core.fields.*"],  # split from config on 2026-12-04: one setting's value checked
    "curves": ["mnist_core.curves.*"],
    "compare": ["mnist_core.compare.*"],
    "study": ["mnist_core.study.*"],
    "store": ["mnist_core.store.*"],
    "runfile": ["mnist_core.runfile.*"],  # split from store on 2026-12-04: reading and writing run.json
    "owner": ["mnist_core.owner.*"],  # split from store on 2026-12-04: which process trains a run
    "estimate": ["mnist_core.estimate.*"],
    "data": [f"mnist_core.data.{f}__mutmut_*" for f in (
        "x__candidates", "x__idx_path", "x__has_idx", "x__resolve_explicit", "x_find_source", "x__read_idx",
        "x__read_idx_folder", "x__read_npz", "x_validate", "xǁDatasetǁsubset")],
    # Added by later issues: a teacher's limits, lesson files, the study's noise-aware verdicts, fair
    # optimizer tuning, what a lesson measures on a run. timing.py: only reading a timing file and its
    # keys (measuring trains networks).
    "limits": ["mnist_core.limits.*"],
    "lessons": ["mnist_core.lessons.*"],
    "verdicts": ["mnist_core.verdicts.*"],
    "tuning": ["mnist_core.tuning.*"],
    "measures": ["mnist_core.measures.*"],
    "timing": [f"mnist_core.timing.{f}__mutmut_*" for f in ("x_key", "x_read")],
}
# A module's own tests, where they are more than tests/test_<module>.py and test_<module>_fields.py: the
# store's ownership checks and its locking across processes have files of their own.
OWN_TESTS = {"store": ["test_store", "test_store_concurrency", "test_access"],
             "runfile": ["test_runfile", "test_store", "test_record"], "owner": ["test_owner", "test_store"],
             "fields": ["test_config", "test_config_fields"], "study": ["test_study", "test_study_verdicts"]}
CAUGHT = {"killed", "timeout", "caught by type check", "segfault"}


def unsettled(modules: list[str]) -> list[str]:
    """The mutants of these modules still worth running after new tests: survivors, those no test covered
    (the test selection may have grown), timeouts (a slow machine, not always an endless loop) and those
    not run yet (a pass cut short, or a function changed since).

    Adding tests can only kill more mutants, so the kills of the last run stand."""
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], cwd=PROJECT, capture_output=True, text=True,
                         check=True).stdout
    names = []
    for line in out.splitlines():
        name, _, status = line.strip().partition(": ")
        if status.strip() in ("survived", "no tests", "timeout", "suspicious", "not checked") and any(
                _match(p, name) for m in modules for p in MODULES[m]):
            names.append(name)
    return names


def run(modules: list[str], recheck: bool = False) -> None:
    # One mutmut run for all of them: it generates mutants and collects which tests cover what once.
    # Given name patterns, mutmut runs every matching mutant again; given exact names, only those.
    children = os.environ.get("MUTMUT_CHILDREN", "2")
    names = unsettled(modules) if recheck else [p for m in modules for p in MODULES[m]]
    print(f"--- mutating {', '.join(modules)}" + (f": {len(names)} unsettled mutants" if recheck else ""),
          flush=True)
    if names:
        subprocess.run([*MUTMUT, "run", "--max-children", children, *names], cwd=PROJECT, check=False)
    check_import_time(modules)


def check_import_time(modules: list[str]) -> None:
    """Run the surviving and uncovered mutants against their module's own test file, in a fresh process.

    mutmut forks each mutant's tests from a process that has imported the module already, so code that
    runs only while the module is imported (``measures._milestone`` building the MEASURES table) keeps
    its original version there: its mutants "survive" every test, or have "no tests" mapped. A fresh
    ``pytest`` with MUTANT_UNDER_TEST set imports the mutant itself: if the module's tests fail, the
    mutant is recorded as killed; if they pass it stays a survivor."""
    mirror_check(modules, (0, 33))


def mirror_check(modules: list[str], codes: tuple) -> None:
    """Each mutant of these modules whose exit code is in ``codes`` (None: not run yet; 0: survived;
    33: no tests), run against the module's own test files (``OWN_TESTS``, else tests/test_<module>.py and
    tests/test_<module>_fields.py of the selection) in
    a fresh pytest; a failing test records it as killed, anything else leaves it as it was."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from mutmut.configuration import config

    selection = config().pytest_add_cli_args_test_selection
    children = int(os.environ.get("MUTMUT_CHILDREN", "2"))
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "mutants")}

    def killed(key: str, tests: list[str]) -> bool:
        try:
            code = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", *config().pytest_add_cli_args,
                                   *tests], cwd=PROJECT / "mutants", env={**env, "MUTANT_UNDER_TEST": key},
                                  capture_output=True, timeout=600).returncode
            # 1: a test failed; below 0: a signal ended the tests' process (a crash, or a mutant of
            # owner_alive hanging up its own process instead of asking with signal 0), caught as mutmut
            # counts a segfault.
            return code == 1 or code < 0
        except subprocess.TimeoutExpired:
            return False

    for meta in sorted((PROJECT / "mutants" / "mnist_core").glob("*.py.meta")):
        module = meta.name.removesuffix(".py.meta")
        if module not in modules:
            continue
        own = OWN_TESTS.get(module, [f"test_{module}", f"test_{module}_fields"])
        tests = [t for t in selection if Path(t).stem in own]
        data = json.loads(meta.read_text())
        todo = [k for k, code in data["exit_code_by_key"].items() if code in codes
                and any(_match(p, k) for p in MODULES[module])]
        if not tests or not todo:
            continue
        print(f"--- {len(todo)} {module} mutants against {' '.join(tests)}, each in a fresh process", flush=True)
        with ThreadPoolExecutor(children) as pool:
            for key, dead in zip(todo, pool.map(lambda k: killed(k, tests), todo)):
                if dead:  # saved at once, so a pass cut short keeps what it found
                    data["exit_code_by_key"][key] = 1
                    meta.write_text(json.dumps(data, indent=4))


def results() -> dict[str, Counter]:
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], cwd=PROJECT, capture_output=True, text=True,
                         check=True).stdout
    by_module: dict[str, Counter] = {}
    for line in out.splitlines():
        name, _, status = line.strip().partition(": ")
        module = next((m for m, pats in MODULES.items() if any(_match(p, name) for p in pats)), None)
        if module:
            by_module.setdefault(module, Counter())[status.strip()] += 1
    return by_module


def _match(pattern: str, name: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), name) is not None


def table(by_module: dict[str, Counter]) -> str:
    """Per module: killed of those that ran, and killed of all (mutants not run counted as surviving)."""
    rows = ["| module | mutants | killed | of them by timeout | survived | not run | killed of those run | killed of all |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for m in MODULES:
        c = by_module.get(m, Counter())
        total = sum(c.values())
        caught = sum(v for k, v in c.items() if k in CAUGHT)
        unchecked = c["not checked"]
        survived = total - caught - unchecked  # survived, no tests, suspicious
        ran = f"{caught / (caught + survived):.0%}" if caught + survived else "-"
        every = f"{caught / total:.0%}" if total else "-"
        rows.append(f"| {m} | {total} | {caught} | {c['timeout']} | {survived} | {unchecked} | {ran} | {every} |")
    return "\n".join(rows)


def survivors() -> list[str]:
    out = subprocess.run([*MUTMUT, "results"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout
    return [line.strip().split(":")[0] for line in out.splitlines()
            if line.strip().endswith(("survived", "no tests"))
            and any(_match(p, line.strip().split(":")[0]) for ps in MODULES.values() for p in ps)]


def change_of(name: str) -> str:
    """The mutant's change as one line: the mutated source line (``mutmut show`` prints the diff)."""
    out = subprocess.run([*MUTMUT, "show", name], cwd=PROJECT, capture_output=True, text=True).stdout
    added = [line[1:].strip() for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return added[0] if added else "?"


def survivors_markdown(reasons: dict[str, str]) -> str:
    """tests/mutation/survivors.md: every survivor, its change, and why it is harmless (kept from the
    previous file by mutant name; new survivors say "not judged yet")."""
    lines = ["# Surviving mutants", "",
             "Written by `python -m tests.mutation.run --survivors`; the reasons are ours. *Equivalent*: the",
             "program behaves the same, so no test can tell. Anything else is a missing test.", "",
             "| mutant | change | why it survives |", "| --- | --- | --- |"]
    for name in survivors():
        change = change_of(name).replace("|", "\\|")
        lines.append(f"| `{name}` | `{change[:110]}` | {reasons.get(name, 'not judged yet')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if "--survivors" in argv:
        path = PROJECT / "tests" / "mutation" / "survivors.md"
        old = {}
        if path.exists():
            for row in path.read_text().splitlines():
                cells = [c.strip() for c in row.strip("|").split(" | ")]
                if len(cells) == 3 and cells[0].startswith("`"):
                    old[cells[0].strip("`")] = cells[2]
        path.write_text(survivors_markdown(old))
        print(f"wrote {path}")
        return 0
    if "--table" not in argv:
        wanted = [a for a in argv if not a.startswith("-")] or list(MODULES)
        unknown = [m for m in wanted if m not in MODULES]
        if unknown:
            print(f"unknown module {unknown[0]!r}: choose from {', '.join(MODULES)}", file=sys.stderr)
            return 2
        if "--quick" in argv:  # only each module's own tests, in fresh processes: kills only, the rest not run
            mirror_check(wanted, (None,))
        else:
            run(wanted, recheck="--recheck" in argv)
    print(table(results()))
    left = survivors()
    if left:
        print(f"\n{len(left)} surviving mutants (see each with: mutmut show NAME):")
        print("\n".join(left))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
