#!/usr/bin/env bash
# Makes the screenshots in docs/screenshots/: the demo project (the optimize runs `make demo` records: int8
# ResNet-8, big/little cascades in fp32 and int8, early exits, pruning alone and with int8), opened in joule-studio
# under xvfb-run, every view
# rendered to a PNG.
# Usage: packaging/screenshots.sh [BUILD_DIR]     (after make build; takes a few minutes)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
joule="$build/bin/joule"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

project="$work/joule.db"
for r in fmnist_resnet8_int8 fmnist_cascade fmnist_cascade_int8 fmnist_early_exit fmnist_resnet8_prune fmnist_resnet8_prune_int8; do
  echo "screenshots: running $r into the project" >&2
  "$joule" optimize "$here/resources/recipes/$r.json" --store "$project" >/dev/null 2>&1
done
out="$here/docs/screenshots"
mkdir -p "$out"
xvfb-run -a -s "-screen 0 1920x1200x24" "$build/bin/joule-studio" --screenshot "$out" "$project"
