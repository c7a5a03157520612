# Evaluate: metrics and confusion matrices per method on the test split, then one summary.


rule evaluate:
    input:
        predictions=f"{MODELS}/{{method}}/predictions.csv",
        trials=f"{MODELS}/{{method}}/trials.csv",
    output:
        metrics=f"{RESULTS}/methods/{{method}}/metrics.json",
        confusion=report(
            expand(f"{RESULTS}/methods/{{{{method}}}}/confusion_{{task}}.png", task=TASKS),
            caption="../report/confusion.rst",
            category="Confusion matrices",
            subcategory="{method}",
        ),
    log:
        f"logs/evaluate/{DATASET.name}/{{method}}.log",
    benchmark:
        f"results/benchmarks/evaluate/{DATASET.name}/{{method}}.tsv"
    params:
        tasks=TASKS,
        confidence=config["evaluate"]["confidence"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/evaluate.py"


rule summarize:
    input:
        metrics=expand(f"{RESULTS}/methods/{{method}}/metrics.json", method=METHODS),
        trials=expand(f"{MODELS}/{{method}}/trials.csv", method=METHODS),
    output:
        csv=report(f"{RESULTS}/summary.csv", caption="../report/summary.rst", category="Results"),
        markdown=f"{RESULTS}/summary.md",
        metrics=f"{RESULTS}/metrics.json",
        headline=expand(f"{RESULTS}/headline/{{method}}.json", method=METHODS),
        plot=report(f"{RESULTS}/method_comparison.png", caption="../report/method_comparison.rst",
                    category="Results"),
        tuning=report(f"{RESULTS}/tuning.csv", caption="../report/tuning.rst", category="Results"),
    log:
        f"logs/summarize/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/summarize/{DATASET.name}.tsv"
    params:
        methods=METHOD_PARAMS,
        metric=config["evaluate"]["selection_metric"],
        confidence=config["evaluate"]["confidence"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/summarize.py"
