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
        "results/benchmarks/evaluate/{method}.tsv"
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
        "results/benchmarks/summarize.tsv"
    params:
        methods=config["methods"],
        metric=config["evaluate"]["selection_metric"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/summarize.py"
