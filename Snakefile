# musicfusion: collect -> preprocess -> extract -> train -> evaluate -> compare -> track, and
# transfer between modalities beside them; `snakemake reproduce` checks the committed reference.
# Settings: params.yaml (validated by workflow/schemas/params.schema.yaml).
# Pick a dataset with `snakemake --config dataset=tiny`.
from snakemake.utils import min_version

min_version("9.0")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/integrity.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/final_models.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/style_transfer.smk"
include: "workflow/rules/transcription.smk"
include: "workflow/rules/assist.smk"
include: "workflow/rules/reproduce.smk"
include: "workflow/rules/paper.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
