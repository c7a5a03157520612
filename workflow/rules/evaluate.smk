# Evaluate: metrics and confusion matrices per method on the test split, then one summary.


rule evaluate:
    input:
        predictions="models/{method}/predictions.csv",
    output:
        metrics="results/methods/{method}/metrics.json",
        confusion=report(
            expand("results/methods/{{method}}/confusion_{task}.png", task=config["tasks"]),
            caption="../report/confusion.rst",
            category="Confusion matrices",
            subcategory="{method}",
        ),
    log:
        "logs/evaluate/{method}.log",
    benchmark:
        "results/benchmarks/evaluate/{method}.tsv",
    params:
        tasks=config["tasks"],
        confidence=config["evaluate"]["confidence"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/evaluate.py"


rule summarize:
    input:
        metrics=expand("results/methods/{method}/metrics.json", method=METHODS),
    output:
        csv=report("results/summary.csv", caption="../report/summary.rst", category="Results"),
        markdown="results/summary.md",
        metrics="results/metrics.json",
        plot=report("results/method_comparison.png", caption="../report/method_comparison.rst",
                    category="Results"),
    log:
        "logs/summarize.log",
    benchmark:
        "results/benchmarks/summarize.tsv",
    params:
        methods=config["methods"],
        metric=config["evaluate"]["selection_metric"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/summarize.py"


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
        "results/benchmarks/compare.tsv",
    params:
        methods=config["methods"],
        tasks=config["tasks"],
        settings=config["evaluate"],
        seed=config["seed"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/compare.py"
