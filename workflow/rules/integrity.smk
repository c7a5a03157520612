# Integrity: before Snakemake plans the run, every npz file of the dataset's interim and processed
# data that is truncated or corrupt is named in the log and removed, so the rules that make it,
# and everything downstream, run again (musicfusion.plumbing.integrity; a dry run only names them).
# Only the main process scans: a job Snakemake spawns or submits parses the workflow again.
if workflow.is_main_process:
    from musicfusion.plumbing.integrity import remove_broken_npz

    remove_broken_npz([LAYOUT.interim, LAYOUT.processed], log=logger.warning,
                      dry_run=getattr(workflow.output_settings, "dryrun", False))
