"""Script logging: a rule's log receives everything its script says, and records name the
repository's script, not Snakemake's temporary copy."""

from __future__ import annotations

import logging

import pytest

from musicfusion.plumbing.scriptlog import log_to, project_script


def test_project_script_names_the_repository_file_not_snakemakes_copy():
    assert project_script("/p/.snakemake/scripts/tmpab12cd34.track.py") == "workflow/scripts/track.py"
    assert project_script("/p/workflow/scripts/track_transfer.py") == "workflow/scripts/track_transfer.py"


def test_log_to_sends_prints_logging_and_the_traceback_to_the_log(tmp_path):
    path = tmp_path / "logs" / "rule.log"
    with pytest.raises(RuntimeError, match="boom"):
        with log_to(path):
            print("printed")
            logging.getLogger("musicfusion.test").info("logged")
            raise RuntimeError("boom")
    text = path.read_text(encoding="utf-8")
    assert "printed" in text and "logged" in text
    assert "step failed" in text and "RuntimeError: boom" in text
