"""Glue for the Snakemake scripts in workflow/scripts: logging into the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str | Path):
    """Send logging, warnings, prints and any traceback of the block to the rule's log."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = fh
        logging.basicConfig(stream=fh, level=logging.INFO, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.captureWarnings(True)
        try:
            yield
        except BaseException:
            logging.exception("step failed")
            raise
        finally:
            sys.stdout, sys.stderr = old_out, old_err


SCRIPTS_DIR = "workflow/scripts"


def project_script(path: str | Path) -> str:
    """The project file a Snakemake script came from: ``workflow/scripts/<name>``.

    Snakemake runs a temporary copy, ``.snakemake/scripts/tmpXXXXXXXX.<name>``; this names the
    real file, so records point at the code in the repository.
    """
    path = Path(path)
    name = path.name
    if path.parent.name == "scripts" and path.parent.parent.name == ".snakemake":
        name = name.split(".", 1)[1]
    return f"{SCRIPTS_DIR}/{name}"
