# A reproduced paper (params.yaml `papers`, selected as the dataset): its tunes' features read from
# each corpus file, the paper's learners cross-validated under each protocol, the comparison with
# the paper's figures (a verdict per learner), and one MLflow run per learner.


rule paper_file_features:
    output:
        LAYOUT.paper_file_features("{corpus_file}"),
    log:
        f"logs/paper_file_features/{DATASET.name}/{{corpus_file}}.log",
    benchmark:
        f"results/benchmarks/paper_file_features/{DATASET.name}/{{corpus_file}}.tsv"
    params:
        corpus_file=lambda wildcards: PAPER_FILES[wildcards.corpus_file][0],
        label=lambda wildcards: PAPER_FILES[wildcards.corpus_file][1],
        features=lambda wildcards: PAPER["features"],
        melody_intervals=config["collect"]["melody_intervals"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/paper_file_features.py"


rule paper_tunes:
    input:
        [LAYOUT.paper_file_features(slug) for slug in PAPER_FILES],
    output:
        LAYOUT.paper_tunes,
    log:
        f"logs/paper_tunes/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/paper_tunes/{DATASET.name}.tsv"
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/paper_tunes.py"


rule paper_cross_validate:
    input:
        tunes=LAYOUT.paper_tunes,
    output:
        f"{RESULTS}/paper/folds_{{protocol}}.csv",
    log:
        f"logs/paper_cross_validate/{DATASET.name}/{{protocol}}.log",
    benchmark:
        f"results/benchmarks/paper_cross_validate/{DATASET.name}/{{protocol}}.tsv"
    params:
        learners=lambda wildcards: PAPER["learners"],
        folds=lambda wildcards: PAPER["folds"],
        repetitions=lambda wildcards: PAPER["repetitions"],
        seed=config["seed"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/paper_cross_validate.py"


rule paper_compare:
    input:
        folds=expand(f"{RESULTS}/paper/folds_{{protocol}}.csv", protocol=PAPER_PROTOCOLS),
        tunes=LAYOUT.paper_tunes,
    output:
        csv=f"{RESULTS}/paper_comparison.csv",
        md=f"{RESULTS}/paper_comparison.md",
    log:
        f"logs/paper_compare/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/paper_compare/{DATASET.name}.tsv"
    params:
        paper=PAPER,
        confidence=config["evaluate"]["confidence"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/paper_compare.py"


rule track_paper:
    input:
        comparison=f"{RESULTS}/paper_comparison.csv",
        page=f"{RESULTS}/paper_comparison.md",
        tunes=LAYOUT.paper_tunes,
    output:
        f"{RESULTS}/paper_mlflow_runs.json",
    log:
        f"logs/track_paper/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/track_paper/{DATASET.name}.tsv"
    params:
        logged={"dataset": DATASET.name, "seed": config["seed"], "paper": PAPER,
                "melody_intervals": config["collect"]["melody_intervals"], "confidence": config["evaluate"]["confidence"]},
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track_paper.py"
