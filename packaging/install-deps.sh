#!/usr/bin/env bash
# Installs the Debian 12 packages Joule Studio builds, tests and demos with, and the local
# onnxruntime-node used as the reference runtime in tests. Installs only what is missing.
# Usage: packaging/install-deps.sh            (as root, or with sudo available)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config ccache
  qt6-base-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libeigen3-dev libstb-dev zlib1g-dev libonnx-dev libprotobuf-dev protobuf-compiler libsqlite3-dev
  libdnnl-dev ocl-icd-opencl-dev   # oneDNN; its CMake config requires OpenCL headers (only Recommended)
  libgraphviz-dev qt6-svg-dev poppler-utils
  dataset-fashion-mnist libonnx-testdata
  help2man lintian desktop-file-utils   # man pages, the Debian package and its checks
  xvfb xauth python3 python3-numpy python3-onnx python3-torch python3-torchvision
  slurm-wlm munge
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm   # Cortex-M4 export tests under QEMU
  nodejs npm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from outside Debian's packages (a node on PATH is enough).
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime (reference runtime for tests), bundled native library, no install scripts.
ort_dir="$here/tests/ort"
if [[ ! -f $ort_dir/node_modules/onnxruntime-node/package.json ]]; then
  echo "install-deps: installing onnxruntime-node into $ort_dir"
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --silent)
fi
