#!/usr/bin/env bash
# Installs everything musicfusion needs on Debian 12 (or Ubuntu) with Python 3.11 to 3.13
# (PYTHON=python3.13 picks another interpreter): FluidSynth and the FluidR3 General MIDI
# soundfont from apt, a virtual environment in .venv, and this package with its pinned
# dependencies. Safe to run again; never asks a question.
#   --tests   also installs what the tests use beyond the workflow: headless Chromium, which
#             checks that the HTML report renders; a single-node SLURM cluster (slurmctld,
#             slurmd, munge) and the SLURM executor plugin; PostgreSQL and its Python driver for
#             an MLflow tracking server.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(fluidsynth fluid-soundfont-gm git)
EXTRAS="test"
for arg in "$@"; do
    case "$arg" in
        --tests) APT_PACKAGES+=(chromium slurmctld slurmd slurm-client munge postgresql); EXTRAS="test,slurm,server" ;;
        *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
    esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[$EXTRAS]"
# Spotify's basic-pitch (Apache-2.0) for the transcription CNN it ships as ONNX: without its
# dependencies, which pull TensorFlow < 2.15.1 (no wheel for Python 3.12+, about 500 MB);
# onnxruntime (a dependency of this package) runs the model.
.venv/bin/python -m pip install -q --no-deps basic-pitch==0.4.0
echo "musicfusion installed in .venv ($(.venv/bin/python --version))"
