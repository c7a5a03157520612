# Config validation, wildcard constraints and input/params functions; the stage files hold only rules.
import os
import sys

from snakemake.utils import validate

from musicfusion import MODALITIES, SHARD_MODALITIES
from musicfusion.config import collect_settings, resolve_dataset

validate(config, schema="../schemas/params.schema.yaml")

# One BLAS/OpenMP thread per job: two jobs with two threads each oversubscribe a 2-core box.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The interpreter running Snakemake (the project venv) also runs the tools the rules call.
PYTHON = sys.executable
DATASET = resolve_dataset(config)
SHARDS = [f"{i:03d}" for i in range(config["preprocess"]["n_shards"])]
METHODS = list(config["methods"])
# Repeat 0 is the dataset's own split; repeats 1.. re-split the same clips with seed + repeat.
REPEATS = list(range(config["evaluate"]["n_repeats"]))
TRACKING = config["tracking"]
TRANSFER = config["transfer"]
TRANSFER_PAIRS = [f"{source}_to_{target}" for source, target in TRANSFER["pairs"]]
FEATURES = f"data/processed/{DATASET.name}/features"
FINGERPRINT = f"data/processed/{DATASET.name}/fingerprint.json"
PRESET_LABEL = DATASET.name if DATASET.is_preset else "user"  # the `preset` tag of MLflow runs


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    shard="[0-9]{3}",
    repeat="[1-9][0-9]*",
    method="|".join(METHODS),
    modality="|".join(MODALITIES),
    source="|".join(MODALITIES),
    target="|".join(MODALITIES),


def dataset_spec(wildcards):
    return resolve_dataset(config, wildcards.dataset)


def manifest_of(wildcards):
    return str(dataset_spec(wildcards).manifest)


def clip_seconds_of(wildcards):
    return dataset_spec(wildcards).clip_seconds


def preset_pattern():
    """The dataset wildcard of the collect rules: presets only (user datasets bring their data)."""
    return "|".join(config["collect"]["presets"])


def collect_params(wildcards):
    return collect_settings(config, wildcards.dataset)


def method_params(wildcards):
    """One fusion method's entry of params.yaml `methods`."""
    return config["methods"][wildcards.method]


def repeat_seed(wildcards):
    """Repeat r re-splits with seed + r, so each repeat is fixed and differs from the others."""
    return config["seed"] + int(wildcards.repeat)


def extract_params(wildcards):
    """One shard modality's feature settings (and the audio sample rate the features need)."""
    sample_rate = config["preprocess"]["audio"]["sample_rate"] if wildcards.modality == "audio" else None
    return {"features": config["features"][wildcards.modality], "sample_rate": sample_rate}


def features_of(dataset):
    return expand("data/processed/{dataset}/features/{modality}.npz", dataset=dataset, modality=MODALITIES)


def repeat_features_of(dataset):
    """The split and text features of every repeat after 0 (repeat 0's are the dataset's own)."""
    base = f"data/processed/{dataset}/features"
    return [f"{base}/repeat-{r}/{name}" for r in REPEATS[1:] for name in ("clips.csv", "text.npz")]


def fusion_shaping_params():
    """Everything that shapes a fusion method's results besides its own settings, and nothing
    else: changing another method or the transfer settings logs no method again."""
    return {k: config[k] for k in ("dataset", "seed", "collect", "preprocess", "features", "tasks", "evaluate")}


def transfer_fit_params():
    """Only what a transfer job's fit reads: pairs, bootstrap_samples or fusion settings rerun nothing."""
    return {key: TRANSFER[key] for key in ("methods", "pca_components", "recall_at")}


def transfer_shaping_params():
    """What shapes the transfer results, hashed into the runs' params_sha256 tag."""
    return {**{k: config[k] for k in ("dataset", "seed", "collect", "preprocess", "features")},
            "transfer": {k: v for k, v in TRANSFER.items() if k != "bootstrap_samples"}}


def transfer_outputs():
    outputs = ["results/transfer.csv", "results/transfer.md", "results/recall_at_k.png",
               "results/transfer_significance.csv"]
    outputs += expand("results/transfer/{pair}/mlflow_runs.json", pair=TRANSFER_PAIRS)
    return outputs


def all_outputs():
    name = DATASET.name
    outputs = [
        f"data/interim/{name}/bad_clips.csv",
        "results/summary.csv",
        "results/summary.md",
        "results/metrics.json",
        "results/method_comparison.png",
        "results/significance.csv",
        "results/fusion_gain.png",
        "results/provenance.json",
        "results/dataset.csv",
    ]
    outputs += expand("results/methods/{method}/mlflow_runs.json", method=METHODS)
    outputs += transfer_outputs()
    if DATASET.is_preset:
        outputs.append(f"data/raw/{name}.dvc")
    return outputs
