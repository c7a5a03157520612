# Reproduce: `snakemake reproduce` builds whatever is missing, then compares the result tables
# with the committed reference for the dataset (reference/<dataset>/) within a tolerance.

REFERENCE_DIR = f"{config['reproduce']['reference_dir']}/{DATASET.name}"
REFERENCE_TABLES = ["results/summary.csv", "results/significance.csv"]
REFERENCE_TABLES += [t for t in transfer_outputs() if t.endswith("transfer.csv")]


rule reproduce:
    input:
        REFERENCE_TABLES,
    log:
        "logs/reproduce.log",
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
        "logs/update_reference.log",
    params:
        reference_dir=REFERENCE_DIR,
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/update_reference.py"
