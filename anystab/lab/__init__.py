"""A lab of real BGP daemons: known routing events, real collectors' MRT, and a check of the analysis.

``run_lab(outdir, scenario)`` builds a topology of gobgpd routers in Linux network namespaces with three
route collectors (FRR bgpd, BIRD 2, gobgpd), plays a scripted scenario and writes one MRT archive per
collector plus ``truth.json``. ``check_lab(outdir)`` analyses every archive and compares the site switches
found with the truth.

Steps of :func:`run_lab`:

1. Refuse an OUTDIR that already holds a lab run; create it.
2. Start ``python -m anystab.lab.inside`` under ``unshare`` (:mod:`anystab.lab.netns`), so every
   namespace and daemon lives and dies with that one process (a killed run leaves nothing behind).
3. Wait for it (at most ``RUN_TIMEOUT_S``); on failure raise :class:`LabError` with its reason (the
   daemons' configurations and logs, and every RIB at the moment of failure, are in OUTDIR/logs/).
4. Return the truth it wrote.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from anystab.errors import LabError
from anystab.lab.scenarios import SCENARIOS

RUN_TIMEOUT_S = 180.0

__all__ = ["SCENARIOS", "LabError", "check_lab", "run_lab"]


def run_lab(outdir: Path, scenario: str = "all") -> dict[str, Any]:
    """Play ``scenario`` on the lab: archives in OUTDIR/<collector>/, the truth in OUTDIR/truth.json."""
    from anystab.lab.inside import ERROR_FILE
    from anystab.lab.netns import PRIVATE_ENV, private_command
    from anystab.lab.scenarios import steps_of
    from anystab.lab.truth import TRUTH_FILE, load_truth

    steps_of(scenario)
    outdir = Path(outdir).resolve()
    if (outdir / TRUTH_FILE).exists():
        raise LabError(f"{outdir} already holds a lab run (truth.json): choose a new directory")
    outdir.mkdir(parents=True, exist_ok=True)
    args = private_command([str(outdir), scenario], unprivileged=os.geteuid() != 0)
    env = {**os.environ, PRIVATE_ENV: "1"}
    try:
        done = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"the lab run took longer than {RUN_TIMEOUT_S:.0f} s and was stopped") from None
    if done.returncode != 0:
        error = outdir / ERROR_FILE
        reason = error.read_text().strip() if error.exists() else done.stderr.strip()
        raise LabError(f"the lab run failed: {reason}")
    return load_truth(outdir)


def check_lab(outdir: Path, jobs: int = 1) -> Any:
    """Analyse every collector's archive and compare with truth.json (see :mod:`anystab.lab.check`)."""
    from anystab.lab.check import check_run

    return check_run(Path(outdir), jobs)
