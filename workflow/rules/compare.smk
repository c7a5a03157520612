# Compare: fusion against the best single modality, each modality against its shortcut control.


rule compare:
    input:
        predictions=expand(f"{MODELS}/{{method}}/predictions.csv", method=METHODS),
        metrics=expand(f"{RESULTS}/methods/{{method}}/metrics.json", method=METHODS),
    output:
        significance=report(f"{RESULTS}/significance.csv", caption="../report/significance.rst", category="Results"),
        per_class=f"{RESULTS}/fusion_gain_per_class.csv",
        plot=report(f"{RESULTS}/fusion_gain.png", caption="../report/fusion_gain.rst", category="Results"),
    log:
        f"logs/compare/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/compare/{DATASET.name}.tsv"
    params:
        methods=METHOD_PARAMS,
        tasks=TASKS,
        settings=config["evaluate"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/compare.py"
