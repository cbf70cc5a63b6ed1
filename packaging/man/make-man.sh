#!/usr/bin/env bash
# Writes the man pages of the Debian package from the programs' own --help and --version (help2man),
# so that they cannot drift from the programs: joule.1 gets one section per command, from
# `joule COMMAND --help`.
# Usage: make-man.sh BIN_DIR OUT_DIR
set -euo pipefail
bin=$1
out=$2
mkdir -p "$out"
export QT_QPA_PLATFORM=offscreen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# troff-safe verbatim text: backslashes escaped, lines that would read as requests guarded.
verbatim() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }

{
  echo "[COMMANDS]"
  # `joule --help` lists the commands as "  NAME  summary" lines under "commands:".
  for cmd in $("$bin/joule" --help | sed -n '/^commands:/,$p' | awk 'NR > 1 && NF { print $1 }'); do
    echo ".SS \"joule $cmd\""
    echo ".nf"
    "$bin/joule" "$cmd" --help | verbatim
    echo ".fi"
  done
  cat <<'TEXT'
[ENVIRONMENT]
.TP
.B JOULE_PLUGIN_PATH
Colon-separated folders searched for plugins before the installed ones.
.TP
.B JOULE_TARGET_PATH
Colon-separated folders searched for target profiles (*.json) before the installed ones.
.TP
.B JOULE_DATA
A folder holding the Fashion-MNIST IDX files, used instead of Debian's copy.
[FILES]
.TP
.I /usr/lib/joule/plugins
The built-in optimization plugins.
.TP
.I ~/.local/share/joule/plugins
The user's own plugins.
.TP
.I /usr/share/joule/targets
Target board profiles.
.TP
.I /usr/share/joule/models, /usr/share/joule/recipes
The reference Fashion-MNIST models and recipes that use them.
[SEE ALSO]
.BR joule-studio (1)
TEXT
} > "$work/joule.h2m"

help2man --no-info --section 1 --name "cost, optimize and export neural networks for edge boards" \
  --include "$work/joule.h2m" --output "$work/joule.1" "$bin/joule"
help2man --no-info --section 1 --name "desktop studio for costing and optimizing neural networks on edge boards" \
  --include <(printf '[SEE ALSO]\n.BR joule (1)\n') --output "$work/joule-studio.1" "$bin/joule-studio"
help2man --no-info --section 1 --name "run ONNX backend test cases on Joule's engine" \
  --include <(printf '[SEE ALSO]\n.BR joule (1)\n') --output "$work/joule-conformance.1" "$bin/joule-conformance"
for page in joule joule-studio joule-conformance; do
  grep -q '^\.SH' "$work/$page.1" || { echo "make-man.sh: $page.1 has no sections" >&2; exit 1; }
  gzip -9n < "$work/$page.1" > "$out/$page.1.gz"
done
