#!/usr/bin/env bash
# Test fixture: the bundles tests/export reads, made by `joule export` from the shipped recipes.
# Usage: make_bundles.sh JOULE SOURCE_DIR OUT_DIR
set -euo pipefail
joule=$1 src=$2 out=$3
mkdir -p "$out"
export_one() {   # NAME RECIPE CANDIDATE
  "$joule" export "$src/resources/recipes/$2.json" --candidate "$3" --format bundle --out "$out/$1" --force --json > "$out/$1.json"
}
export_one resnet8_int8 fmnist_resnet8_int8 c1
export_one dscnn_int8_cle fmnist_dscnn_int8_cle c1
export_one cascade_int8 fmnist_cascade_int8 c4
