# Config validation, wildcard constraints and input/params functions; the stage files hold only rules.
import re
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

from musicfusion import MODALITIES, modality_of
from musicfusion.features.registry import extractor, feature_settings, run_feature_sets, shard_modalities
from musicfusion.plumbing.paths import Layout, feature_file
from musicfusion.data.manifest import dataset_clip_count
from musicfusion.evaluation.paper import PROTOCOLS as PAPER_PROTOCOLS
from musicfusion.plumbing.config import (TRANSCRIBED_FROM, collect_settings, paper_files, resolve_dataset,
                                         resolve_methods, shard_count)
from musicfusion.plumbing.runtime import pin_job_environment

validate(config, schema="../schemas/params.schema.yaml")

# One thread per job in every library's pool (whatever the user's environment says: the cores are
# Snakemake's to share), and numba's compiled functions cached in the project (jobs inherit both).
pin_job_environment(workflow.basedir)

# The interpreter running Snakemake (the project venv) also runs the tools the rules call.
PYTHON = sys.executable
DATASET = resolve_dataset(config)
TASKS = list(DATASET.tasks)
# Shards of at most preprocess.clips_per_shard clips: a job's memory is bounded whatever the size
# of the dataset.
# A paper dataset has no clips: its own chain (paper.smk) reads the tunes of its corpus files.
N_SHARDS = 1 if DATASET.is_paper else shard_count(dataset_clip_count(config, DATASET),
                                                  config["preprocess"]["clips_per_shard"])
SHARDS = [f"{i:03d}" for i in range(N_SHARDS)]
# Methods and transfer pairs that need a modality the dataset lacks are left out, said once.
# Each method's entry with its modalities resolved: `modalities: dataset` fuses what the dataset has.
METHOD_PARAMS, _LEFT_OUT = resolve_methods(config["methods"], DATASET.modalities, DATASET.methods)
METHODS = list(METHOD_PARAMS)
for _method, _reason in _LEFT_OUT.items():
    if not DATASET.is_paper:
        logger.info(f"dataset {DATASET.name} has {'+'.join(DATASET.modalities)}: method {_method} ({_reason}) "
                    "is left out")
if not METHODS and not DATASET.is_paper:
    raise ValueError(f"dataset {DATASET.name} has {list(DATASET.modalities)}: no configured method uses only those")
# Repeated stratified group k-fold: fold i is repetition i // folds, test fold i % folds.
N_FOLDS = config["evaluate"]["folds"] * config["evaluate"]["repetitions"]
FOLDS = list(range(N_FOLDS))
TRACKING = config["tracking"]
TRANSFER = config["transfer"]
# A pair between a derived modality and the one it is made from maps a modality onto itself: left out.
TRANSFER_PAIRS = [f"{source}_to_{target}" for source, target in TRANSFER["pairs"] if DATASET.has([source, target])
                  and not ({source, target} == {"score", "audio"} and "score" in DATASET.derived)]
for _source, _target in TRANSFER["pairs"]:
    if f"{_source}_to_{_target}" not in TRANSFER_PAIRS and not DATASET.is_paper:
        logger.info(f"dataset {DATASET.name} has {'+'.join(DATASET.modalities)}"
                    f"{' (score transcribed from the audio)' if DATASET.derived else ''}: transfer {_source} -> "
                    f"{_target} is left out")
# The file layout (musicfusion.plumbing.paths): the selected dataset's files, and the rules' patterns.
LAYOUT = Layout(DATASET.name)
PATTERN = Layout("{dataset}")
FEATURES = LAYOUT.features
RESULTS = LAYOUT.results
MODELS = LAYOUT.models
FINGERPRINT = LAYOUT.fingerprint
# The feature sets a run extracts: each modality's own and features.extra_sets (such as the pitch
# CNN's, audio.pitch_cnn); those extracted once per shard (the others are fitted on each fold).
RUN_FEATURE_SETS = run_feature_sets(config["features"], MODALITIES)
SHARD_MODALITIES = shard_modalities(RUN_FEATURE_SETS)
for _method, _entry in METHOD_PARAMS.items():
    _missing = [key for key in _entry["modalities"] if key not in RUN_FEATURE_SETS]
    if _missing:
        raise ValueError(f"method {_method} reads the feature set {_missing}, which the run does not extract: "
                         "add it to params.yaml features.extra_sets")
# Robustness sweeps degrade a modality's media and extract its own features again; methods that
# read a further feature set (a learned one) are not swept.
ROBUST_METHODS = [name for name, entry in METHOD_PARAMS.items() if set(entry["modalities"]) <= set(MODALITIES)]
# A reproduced paper's entry and its corpus files ({slug: (corpus path, class)}); empty otherwise.
PAPER = DATASET.paper or {}
PAPER_FILES = paper_files(PAPER) if DATASET.is_paper else {}
PRESET_LABEL = DATASET.name if DATASET.is_preset else "user"  # the `preset` tag of MLflow runs


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    shard="[0-9]{3}",
    fold="[0-9]+",
    method="|".join(METHODS),
    modality="|".join(MODALITIES),
    source="|".join(MODALITIES),
    target="|".join(MODALITIES),
    protocol="|".join(PAPER_PROTOCOLS),
    corpus_file="[A-Za-z0-9_]+",
    style="[A-Za-z0-9_]+",


def dataset_spec(wildcards):
    return resolve_dataset(config, wildcards.dataset)


def manifest_of(wildcards):
    return str(dataset_spec(wildcards).manifest)


def dataset_params(wildcards):
    """The dataset's modalities (those its manifest gives files of, and those the workflow derives)
    and tasks, as preprocessing and the clip table read them."""
    spec = dataset_spec(wildcards)
    return {"modalities": list(spec.read_modalities), "derived": list(spec.derived), "tasks": list(spec.tasks)}


def interim_shards(modality):
    """The pattern of every interim shard of ``modality`` of the ``{dataset}`` wildcard."""
    return [PATTERN.interim_shard(modality, shard) for shard in SHARDS]


def preset_pattern():
    """The dataset wildcard of the collect rules: presets only (user datasets bring their data)."""
    return "|".join(config["collect"]["presets"])


def collect_params(wildcards):
    return collect_settings(config, wildcards.dataset)


def method_params(wildcards):
    """One fusion method's entry of params.yaml `methods`."""
    return METHOD_PARAMS[wildcards.method]


def _shard_settings(feature_kind, features):
    return {"feature_kind": feature_kind, "features": features,
            "sample_rate": config["preprocess"]["audio"]["sample_rate"], "fps": config["preprocess"]["video"]["fps"]}


def extract_params(wildcards):
    """One feature set's settings, and the preprocessed sample and frame rates."""
    return _shard_settings("content", feature_settings(wildcards.modality, config["features"]))


def shard_media(wildcards):
    """The interim shard a feature set is extracted from: its modality's."""
    return Layout(wildcards.dataset).interim_shard(modality_of(wildcards.modality), wildcards.shard)


def feature_set_pattern():
    """The wildcard pattern of the feature sets extracted per shard (their names hold dots)."""
    return "|".join(re.escape(key) for key in SHARD_MODALITIES)


def control_params(wildcards):
    """One shard modality's shortcut-control settings, and the preprocessed sample and frame rates."""
    return _shard_settings("control", config["features"]["controls"][wildcards.modality])


def method_inputs(wildcards):
    """What one method's training reads: every fold's split and, per modality, its features
    (the fold's own TF-IDF for text) or its shortcut controls."""
    method = METHOD_PARAMS[wildcards.method]
    folds = [f"{FEATURES}/fold-{i}/clips.csv" for i in FOLDS]
    if method["type"] == "control":
        return folds + [str(feature_file(FEATURES, m, feature_kind="control")) for m in method["modalities"]]
    files = [str(feature_file(FEATURES, m)) for m in method["modalities"] if not extractor(m).per_fold]
    files += [str(feature_file(FEATURES, m, i, per_fold=True)) for m in method["modalities"]
              if extractor(m).per_fold for i in FOLDS]
    return folds + files


def final_model_inputs(wildcards):
    """What one method's final model reads: per modality, the dataset's own features (the text's TF-IDF
    fitted on its training clips) or its shortcut controls."""
    method = METHOD_PARAMS[wildcards.method]
    feature_kind = "control" if method["type"] == "control" else "content"
    return [str(feature_file(FEATURES, m, feature_kind=feature_kind)) for m in method["modalities"]]


def perturb_settings(wildcards):
    """What re-extracting one modality's degraded media needs: its content and control feature
    settings and the preprocessed sample and frame rates."""
    modality = wildcards.modality
    return {"content": config["features"][modality], "control": config["features"]["controls"][modality],
            "sample_rate": config["preprocess"]["audio"]["sample_rate"], "fps": config["preprocess"]["video"]["fps"]}


def perturbed_modalities(modalities):
    """Those of ``modalities`` that the dataset has and `robustness.noise` degrades."""
    from musicfusion.evaluation.perturb import perturbations_of

    return [m for m in modalities if DATASET.has([m]) and perturbations_of(m, config["robustness"]["noise"])]


def robustness_inputs(wildcards):
    """What one method's sweeps read: its training inputs, its modalities' perturbed features, and
    the clean text (each fold's TF-IDF is fitted again to transform degraded texts)."""
    method = METHOD_PARAMS[wildcards.method]
    inputs = {"clips": f"{FEATURES}/clips.csv", "features": method_inputs(wildcards),
              "perturbed": [f"{LAYOUT.perturbed}/{m}.npz"
                            for m in perturbed_modalities(method["modalities"])],
              "text_shards": []}
    if method["type"] != "control" and "text" in perturbed_modalities(method["modalities"]):
        inputs["text_shards"] = [LAYOUT.interim_shard("text", shard) for shard in SHARDS]
    return inputs


def method_learners(wildcards):
    """The params.yaml `learners` entries one method uses: editing another learner reruns nothing."""
    method = METHOD_PARAMS[wildcards.method]
    names = [method["learner"]] if isinstance(method["learner"], str) else list(method["learner"].values())
    return {name: config["learners"][name] for name in sorted(set(names)) if name in config["learners"]}


def data_shaping_params():
    """The settings that shape the features: how clips are split into shards does not."""
    preprocess = {k: v for k, v in config["preprocess"].items() if k != "clips_per_shard"}
    # Of the collect section, only what builds this preset (another preset's settings rerun nothing);
    # a user dataset reads only its split fractions from it.
    collect = (collect_settings(config, DATASET.name) if DATASET.is_preset
               else {"splits": config["collect"]["splits"]})
    return {**{k: config[k] for k in ("dataset", "seed", "features")}, "collect": collect, "preprocess": preprocess}


def fusion_shaping_params():
    """Everything that shapes a fusion method's results besides its own settings, and nothing
    else: changing another method or the transfer settings logs no method again."""
    return {**data_shaping_params(), **{k: config[k] for k in ("evaluate", "tuning")}, "tasks": TASKS}


def robustness_shaping_params():
    """What shapes the robustness results: the fusion methods' results and the sweeps' settings."""
    return {**fusion_shaping_params(), "methods": METHOD_PARAMS, "learners": config["learners"],
            "robustness": config["robustness"]}


def transfer_fit_params():
    """Only what a transfer job reads: pairs, bootstrap_samples or fusion settings rerun nothing."""
    return {key: TRANSFER[key] for key in ("methods", "pca_components", "recall_at", "permutations")}


def transfer_shaping_params():
    """What shapes the transfer results, hashed into the runs' params_sha256 tag."""
    return {**data_shaping_params(), "transfer": {k: v for k, v in TRANSFER.items() if k != "bootstrap_samples"}}


def transfer_outputs():
    if not TRANSFER_PAIRS:
        return []
    outputs = [f"{RESULTS}/{name}" for name in ("transfer.csv", "transfer.md", "recall_at_k.png",
                                                "transfer_significance.csv")]
    outputs += expand(f"{RESULTS}/transfer/{{pair}}/mlflow_runs.json", pair=TRANSFER_PAIRS)
    return outputs


# Style transfer runs on a preset (it renders as collect does) that has the score and the style
# task: one job per source style, judged by params.yaml style_transfer.judges that the dataset runs.
RESTYLE = config["style_transfer"]
RESTYLE_JUDGES = [name for name in RESTYLE["judges"] if name in METHOD_PARAMS]
RESTYLE_CLIPS = RESTYLE["clips_per_style"].get(DATASET.name)
RESTYLE_STYLES = (sorted(collect_settings(config, DATASET.name)["styles"]) if DATASET.is_preset and DATASET.has(["score"])
                  and "style" in TASKS and RESTYLE_JUDGES and RESTYLE_CLIPS else [])


def restyle_judges():
    """{judge: its modalities} of the methods that judge the transfers."""
    return {name: list(METHOD_PARAMS[name]["modalities"]) for name in RESTYLE_JUDGES}


def restyle_query_pair():
    """The transfer pair whose mapping ranks the source for a transferred clip, if the dataset runs it."""
    pair = RESTYLE["query_pair"]
    return list(pair) if f"{pair[0]}_to_{pair[1]}" in TRANSFER_PAIRS else []


def restyle_clip_seconds():
    return config["collect"]["presets"][DATASET.name]["clip_seconds"] if DATASET.is_preset else 0.0


def restyle_inputs(wildcards):
    """What one source style's transfers read: the splits, the notes and programs, the judges'
    features and fold models, and the mapping of the query pair."""
    modalities = sorted({m for name in RESTYLE_JUDGES for m in METHOD_PARAMS[name]["modalities"]})
    files = [str(feature_file(FEATURES, m)) for m in modalities if not extractor(m).per_fold]
    files += [str(feature_file(FEATURES, m, i, per_fold=True)) for m in modalities if extractor(m).per_fold
              for i in FOLDS]
    inputs = {"clips": f"{FEATURES}/clips.csv", "folds": [f"{FEATURES}/fold-{i}/clips.csv" for i in FOLDS],
              "features": files, "notes": [LAYOUT.interim_shard("score", shard) for shard in SHARDS],
              "manifest": str(DATASET.manifest),
              "fold_models": [f"{MODELS}/{name}/fold_models.pkl" for name in RESTYLE_JUDGES]}
    pair = restyle_query_pair()
    if pair:
        inputs["query_model"] = LAYOUT.transfer_model(f"{pair[0]}_to_{pair[1]}")
    return inputs


def restyle_shaping_params():
    """What shapes the style-transfer table, hashed into its runs' params_sha256 tag."""
    return {**fusion_shaping_params(), "judges": {name: METHOD_PARAMS[name] for name in RESTYLE_JUDGES},
            "learners": config["learners"], "style_transfer": RESTYLE, "transfer": transfer_fit_params()}


def restyle_outputs():
    if not RESTYLE_STYLES:
        return []
    return [f"{RESULTS}/{name}" for name in ("style_transfer.csv", "style_transfer.png",
                                              "style_transfer_mlflow_runs.json")]


# The evaluation of `musicfusion assist` runs on a preset (it knows each clip's tempo) with fusion methods.
ASSIST = config["assist"]
ASSIST_METHODS = [name for name, entry in METHOD_PARAMS.items() if entry["type"] not in ("single_modality", "control")]
ASSIST_PAIRS = [f"{m}_to_audio" for m in ("video", "text") if f"{m}_to_audio" in TRANSFER_PAIRS]
ASSISTED = DATASET.is_preset and bool(ASSIST_METHODS)
# Sketches are judged by this method's fold models, where the dataset runs it and has scores and styles.
ASSIST_JUDGE = ASSIST["evaluation"]["sketch_judge"]
ASSIST_SKETCHES = (ASSISTED and ASSIST_JUDGE in METHOD_PARAMS and DATASET.has(["score"]) and "style" in TASKS
                   and ASSIST["evaluation"]["sketch_clips_per_style"] > 0)


def assist_eval_inputs(wildcards):
    """What the evaluation of assist reads: the summary (which method a query gets), every fusion method's
    fold models and features, the interim media (tempo), the transfer mappings into the audio."""
    keys = sorted({key for name in ASSIST_METHODS for key in METHOD_PARAMS[name]["modalities"]}
                  | {m for m in ("audio", "score", "text") if DATASET.has([m])})
    files = [str(feature_file(FEATURES, k)) for k in keys if not extractor(k).per_fold]
    files += [str(feature_file(FEATURES, k, i, per_fold=True)) for k in keys if extractor(k).per_fold
              for i in [None, *FOLDS]]
    return {"summary": f"{RESULTS}/summary.csv", "clips": f"{FEATURES}/clips.csv",
            "folds": [f"{FEATURES}/fold-{i}/clips.csv" for i in FOLDS], "features": files,
            "fold_models": [f"{MODELS}/{name}/fold_models.pkl" for name in ASSIST_METHODS],
            "judge": [f"{MODELS}/{name}/fold_models.pkl" for name in [ASSIST_JUDGE] if ASSIST_SKETCHES],
            "media": [LAYOUT.interim_shard(m, shard) for m in ("audio", "video", "score") if DATASET.has([m])
                      for shard in SHARDS],
            "pairs": [LAYOUT.transfer_model(pair) for pair in ASSIST_PAIRS], "manifest": str(DATASET.manifest)}


def assist_outputs():
    if not ASSISTED:
        return []
    return [f"{RESULTS}/{name}" for name in ("assist.csv", "assist_reliability.png", "assist_mlflow_runs.json")]


# Transcription runs on a preset (it knows the tempo its audio was rendered at) with audio and scores.
TRANSCRIPTION = config["transcription"]
TRANSCRIBED = DATASET.is_preset and DATASET.has(["audio", "score"])


def transcription_shaping_params():
    """What shapes the transcription table, hashed into its run's params_sha256 tag."""
    return {**data_shaping_params(), "transcription": TRANSCRIPTION, "confidence": config["evaluate"]["confidence"]}


def transcription_outputs():
    if not TRANSCRIBED:
        return []
    return [f"{RESULTS}/{name}" for name in ("transcription.csv", "transcription_mlflow_runs.json")]


def paper_outputs():
    return [f"{RESULTS}/{name}" for name in ("paper_comparison.csv", "paper_comparison.md", "paper_mlflow_runs.json")]


def all_outputs():
    if DATASET.is_paper:
        return paper_outputs()
    name = DATASET.name
    outputs = [f"{LAYOUT.interim}/bad_clips.csv", f"{LAYOUT.interim}/absent.csv"]
    outputs += [f"{RESULTS}/{table}" for table in (
        "summary.csv", "summary.md", "metrics.json", "method_comparison.png", "tuning.csv", "significance.csv",
        "fusion_gain.png", "provenance.json", "dataset.csv", "robustness.csv", "robustness_relative.csv",
        "robustness_absent.png", "robustness_noise.png", "robustness_relative.png", "robustness_mlflow_runs.json")]
    outputs += expand(f"{RESULTS}/methods/{{method}}/mlflow_runs.json", method=METHODS)
    outputs += transfer_outputs()
    outputs += restyle_outputs()
    outputs += transcription_outputs()
    outputs += assist_outputs()
    if DATASET.is_preset:
        outputs.append(LAYOUT.raw_version)
    return outputs
