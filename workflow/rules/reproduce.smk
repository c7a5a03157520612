# Reproduce: `snakemake reproduce` builds whatever is missing, then compares the result tables
# with the committed reference for the dataset (reference/<dataset>/) within a tolerance.

REFERENCE_DIR = LAYOUT.reference(config["reproduce"]["reference_dir"])
# transfer.csv only where the dataset has a pair of modalities to map; style_transfer.csv,
# transcription.csv and assist.csv where they run.
REFERENCE_TABLES = [f"{RESULTS}/summary.csv", f"{RESULTS}/significance.csv", f"{RESULTS}/robustness.csv"]
REFERENCE_TABLES += [t for t in transfer_outputs() if Path(t).name == "transfer.csv"]
REFERENCE_TABLES += [t for t in restyle_outputs() if Path(t).name == "style_transfer.csv"]
REFERENCE_TABLES += [t for t in transcription_outputs() if Path(t).name == "transcription.csv"]
REFERENCE_TABLES += [t for t in assist_outputs() if Path(t).name == "assist.csv"]
if DATASET.is_paper:  # a reproduced paper's one table
    REFERENCE_TABLES = [f"{RESULTS}/paper_comparison.csv"]


rule reproduce:
    input:
        REFERENCE_TABLES,
    log:
        f"logs/reproduce/{DATASET.name}.log",
    params:
        reference_dir=REFERENCE_DIR,
        tolerance=config["reproduce"]["tolerance"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/reproduce.py"


rule update_reference:
    input:
        REFERENCE_TABLES,
    log:
        f"logs/update_reference/{DATASET.name}.log",
    params:
        reference_dir=REFERENCE_DIR,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/update_reference.py"
