# Compare: fusion against the best single modality, each modality against its shortcut control.


rule compare:
    input:
        predictions=expand("models/{method}/predictions.csv", method=METHODS),
        metrics=expand("results/methods/{method}/metrics.json", method=METHODS),
    output:
        significance=report("results/significance.csv", caption="../report/significance.rst", category="Results"),
        per_class="results/fusion_gain_per_class.csv",
        plot=report("results/fusion_gain.png", caption="../report/fusion_gain.rst", category="Results"),
    log:
        "logs/compare.log",
    benchmark:
        "results/benchmarks/compare.tsv"
    params:
        methods=config["methods"],
        tasks=config["tasks"],
        settings=config["evaluate"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/compare.py"
