"""``python -m anystab.generate OUTDIR``: write the sample archive into OUTDIR (default ``data``)."""

from __future__ import annotations

import sys
from pathlib import Path

from anystab.generate.sample import write_sample


def main(argv: list[str]) -> int:
    outdir = Path(argv[0] if argv else "data")
    write_sample(outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
