# Style transfer (params.yaml `style_transfer`): chosen test clips of each style moved toward every other
# style by the operator sets, re-rendered as collect renders and judged by the fold models that held
# them out (one job per source style); one table and heat map; one MLflow run per operator set.


rule restyle_clips:
    input:
        unpack(restyle_inputs),
    output:
        f"{RESULTS}/style_transfer/{{style}}.csv",
    log:
        f"logs/restyle_clips/{DATASET.name}/{{style}}.log",
    benchmark:
        f"results/benchmarks/restyle_clips/{DATASET.name}/{{style}}.tsv"
    params:
        settings={**RESTYLE, "clips_per_style": RESTYLE_CLIPS},
        judges=restyle_judges(),
        query_pair=restyle_query_pair(),
        render=collect_settings(config, DATASET.name) if DATASET.is_preset else {},
        clip_seconds=restyle_clip_seconds(),
        preprocess=config["preprocess"],
        features=config["features"],
        tasks=TASKS,
        seed=config["seed"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/restyle_clips.py"


rule style_transfer:
    input:
        expand(f"{RESULTS}/style_transfer/{{style}}.csv", style=RESTYLE_STYLES),
    output:
        csv=report(f"{RESULTS}/style_transfer.csv", caption="../report/style_transfer.rst",
                   category="Style transfer"),
        figure=report(f"{RESULTS}/style_transfer.png", caption="../report/style_transfer_figure.rst",
                      category="Style transfer"),
    log:
        f"logs/style_transfer/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/style_transfer/{DATASET.name}.tsv"
    params:
        confidence=config["evaluate"]["confidence"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/style_transfer.py"


rule track_style_transfer:
    input:
        table=f"{RESULTS}/style_transfer.csv",
        figure=f"{RESULTS}/style_transfer.png",
        fingerprint=FINGERPRINT,
    output:
        f"{RESULTS}/style_transfer_mlflow_runs.json",
    log:
        f"logs/track_style_transfer/{DATASET.name}.log",
    benchmark:
        f"results/benchmarks/track_style_transfer/{DATASET.name}.tsv"
    params:
        dataset=DATASET.name,
        preset=PRESET_LABEL,
        shaping=restyle_shaping_params(),
        manifest=str(DATASET.manifest),
        uri=TRACKING["uri"],
        experiment=TRACKING["experiment"],
    conda:
        "../envs/musicfusion.yaml"
    script:
        "../scripts/track_style_transfer.py"
