# Extract: one feature matrix per modality, rows aligned by clip id.


rule extract_audio:
    input:
        "data/interim/{dataset}/audio/shard-{shard}.npz",
    output:
        temp("data/processed/{dataset}/features/audio/shard-{shard}.npz"),
    log:
        "logs/extract_audio/{dataset}/shard-{shard}.log",
    params:
        features=config["features"]["audio"],
        sample_rate=config["preprocess"]["audio"]["sample_rate"],
    script:
        "../scripts/extract_shard.py"


rule extract_video:
    input:
        "data/interim/{dataset}/video/shard-{shard}.npz",
    output:
        temp("data/processed/{dataset}/features/video/shard-{shard}.npz"),
    log:
        "logs/extract_video/{dataset}/shard-{shard}.log",
    params:
        features=config["features"]["video"],
        sample_rate=None,
    script:
        "../scripts/extract_shard.py"


rule gather_features:
    input:
        expand("data/processed/{{dataset}}/features/{{modality}}/shard-{shard}.npz", shard=SHARDS),
    output:
        "data/processed/{dataset}/features/{modality}.npz",
    log:
        "logs/gather_features/{dataset}/{modality}.log",
    wildcard_constraints:
        modality="audio|video",
    script:
        "../scripts/gather_features.py"


rule extract_text:
    input:
        shards=expand("data/interim/{{dataset}}/text/shard-{shard}.npz", shard=SHARDS),
        manifest=manifest_of,
    output:
        features="data/processed/{dataset}/features/text.npz",
        vectorizer="data/processed/{dataset}/features/text_vectorizer.pkl",
    log:
        "logs/extract_text/{dataset}.log",
    params:
        features=config["features"]["text"],
    script:
        "../scripts/extract_text.py"


rule clip_table:
    input:
        features=features_of("{dataset}"),
        manifest=manifest_of,
    output:
        "data/processed/{dataset}/features/clips.csv",
    log:
        "logs/clip_table/{dataset}.log",
    script:
        "../scripts/clip_table.py"


rule split_repeat:
    input:
        "data/processed/{dataset}/features/clips.csv",
    output:
        "data/processed/{dataset}/features/repeat-{repeat}/clips.csv",
    log:
        "logs/split_repeat/{dataset}/repeat-{repeat}.log",
    params:
        fractions=config["collect"]["splits"],
        seed=lambda wc: config["seed"] + int(wc.repeat),
    script:
        "../scripts/split_repeat.py"


rule extract_text_repeat:
    input:
        shards=expand("data/interim/{{dataset}}/text/shard-{shard}.npz", shard=SHARDS),
        clips="data/processed/{dataset}/features/repeat-{repeat}/clips.csv",
    output:
        features="data/processed/{dataset}/features/repeat-{repeat}/text.npz",
    log:
        "logs/extract_text/{dataset}/repeat-{repeat}.log",
    params:
        features=config["features"]["text"],
    script:
        "../scripts/extract_text.py"
