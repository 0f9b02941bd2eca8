"""Entry point of the lab's private namespace set: ``python -m anystab.lab.inside OUTDIR SCENARIO``.

Steps: play the scenario (:func:`anystab.lab.runner.run_inside`), make the collectors' dumps readable
(FRR writes mode 0640), write truth.json and sites.toml. A failure is written to OUTDIR/lab-error.txt
and the exit status is 1; this process writes nothing on stdout or stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

from anystab.errors import AnystabError
from anystab.lab.runner import run_inside
from anystab.lab.topology import TOPOLOGY
from anystab.lab.truth import build_truth, write_truth

ERROR_FILE = "lab-error.txt"


def main(argv: list[str]) -> int:
    outdir, scenario = Path(argv[0]), argv[1]
    try:
        run = run_inside(outdir, scenario)
        for collector in TOPOLOGY.collectors:
            for path in (outdir / collector.name).iterdir():
                path.chmod(0o644)
        write_truth(outdir, build_truth(run, TOPOLOGY))
    except (AnystabError, OSError) as exc:
        (outdir / ERROR_FILE).write_text(str(exc) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
