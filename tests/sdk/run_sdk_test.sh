#!/usr/bin/env bash
# The plugin SDK as a plugin author meets it: install Joule into a temporary prefix, build the
# weight-clustering example (docs/examples/weight-clustering) from a copy outside the source tree
# against that prefix alone, run its own test, find it through $JOULE_PLUGIN_PATH with the installed
# joule, run its recipe, see it in the studio's optimize panel, and check that the same plugin built
# against an SDK of another plugin API version is listed as broken and never loaded.
# Usage: run_sdk_test.sh BUILD_DIR SOURCE_DIR PANEL_TEST
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
panel=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/joule-sdk.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
joule=$prefix/bin/joule
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1" "${@:3}"; }

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in lib/cmake/Joule/JouleConfig.cmake lib/cmake/Joule/JouleConfigVersion.cmake lib/cmake/Joule/JouleAddPlugin.cmake \
         include/joule/plugin/plugin_interface.h include/joule/plugin/pass.h include/joule/ir/graph.h \
         bin/joule share/joule/models/fmnist_resnet8.onnx share/joule/targets/stm32l4r5.json; do
  [[ -e $prefix/$f ]] || fail "the install has no $f"
done
ls "$prefix"/lib/joule/libjoule-core.so* > /dev/null || fail "the install has no libjoule-core"
# The SDK must not point back at the tree it was built from.
if grep -rlF -e "$src" -e "$build" "$prefix/include" "$prefix/lib/cmake"; then fail "installed SDK files name the source or build tree"; fi

step "every installed header compiles, through find_package(Joule) alone"
mkdir -p "$work/headers"
(cd "$prefix/include/joule" && find . -name '*.h' | sort | sed 's|^\./|#include "|; s|$|"|') > "$work/headers/all.cpp"
echo 'int main() { return 0; }' >> "$work/headers/all.cpp"
[[ $(grep -c '#include' "$work/headers/all.cpp") -ge 40 ]] || fail "fewer than 40 public headers installed"
cat > "$work/headers/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(joule_headers CXX)
find_package(Joule 0.1 REQUIRED)
add_executable(all_headers all.cpp)
target_link_libraries(all_headers PRIVATE Joule::core)
CMAKE
cmake -S "$work/headers" -B "$work/headers/build" -DJoule_DIR="$prefix/lib/cmake/Joule" > "$work/headers.log" \
  || { cat "$work/headers.log"; fail "configuring against the SDK"; }
cmake --build "$work/headers/build" > "$work/headers-build.log" 2>&1 || { tail -30 "$work/headers-build.log"; fail "the public headers do not compile"; }

step "build the example out of tree"
cp -r "$src/docs/examples/weight-clustering" "$work/example"
configure() {   # SDK_PREFIX BUILD_DIR
  cmake -S "$work/example" -B "$2" -DCMAKE_BUILD_TYPE=Release -DJoule_DIR="$1/lib/cmake/Joule" -DCMAKE_PREFIX_PATH="$1" \
    > "$2.log" 2>&1 || { cat "$2.log"; fail "configuring the example against $1"; }
}
configure "$prefix" "$work/ex"
cmake --build "$work/ex" -j2 > "$work/ex-build.log" 2>&1 || { tail -40 "$work/ex-build.log"; fail "building the example"; }
plugin=$(ls "$work"/ex/plugins/libweight-clustering.so) || fail "the example built no plugin into its plugins folder"
ctest --test-dir "$work/ex" --output-on-failure || fail "the example's own test"

step "the installed joule lists it through JOULE_PLUGIN_PATH"
export JOULE_PLUGIN_PATH=$work/ex/plugins
"$joule" plugins --json > "$work/plugins.json"
json "$work/plugins.json" '
ps = {p["name"]: p for p in d["plugins"]}
w = ps.get("weight-clustering") or sys.exit("weight-clustering not listed: %s" % list(ps))
w["ok"] or sys.exit("weight-clustering is broken: %s" % w["error"])
w["path"] == sys.argv[2] or sys.exit("listed from %s" % w["path"])
[p["key"] for p in w["parameters"]] == ["clusters", "init", "iterations", "min_weights"] or sys.exit("parameters %s" % w["parameters"])
for b in ("quantize", "prune", "cascade", "early_exit"):
    ps.get(b, {}).get("ok") or sys.exit("built-in %s missing or broken" % b)
    ps[b]["path"].startswith(sys.argv[3]) or sys.exit("%s from %s" % (b, ps[b]["path"]))
broken = [p for p in d["plugins"] if not p["ok"]]
broken and sys.exit("broken plugins: %s" % broken)
' "$plugin" "$prefix/lib/joule/plugins/" || fail "joule plugins"
"$joule" plugins > "$work/plugins.txt"
grep -q '^weight-clustering 1.0.0 ' "$work/plugins.txt" || { cat "$work/plugins.txt"; fail "joule plugins (text) does not list weight-clustering"; }

step "its recipe runs"
sed "s|\"../../../resources/models/fmnist_resnet8.onnx\"|\"$prefix/share/joule/models/fmnist_resnet8.onnx\"|" \
  "$work/example/recipe.json" > "$work/recipe.json"
grep -q "$prefix/share/joule/models" "$work/recipe.json" || fail "the recipe's model was not pointed at the install"
"$joule" optimize "$work/recipe.json" --json > "$work/optimize.json" 2> "$work/optimize.err" || { cat "$work/optimize.err"; fail "joule optimize"; }
json "$work/optimize.json" '
c = d["candidates"]
len(c) == 2 or sys.exit("%d candidates" % len(c))
base, wc = c
base["plugin"] is None and wc["plugin"] == "weight-clustering" or sys.exit("plugins %s %s" % (base["plugin"], wc["plugin"]))
wc["samples"] == 2000 or sys.exit("samples %s" % wc["samples"])
n = wc["notes"]
n["layers_clustered"] >= 5 and n["index_bits"] == 4 or sys.exit("notes %s" % n)
abs(wc["accuracy"] - base["accuracy"]) <= 0.02 or sys.exit("accuracy %.4f against the baseline %.4f" % (wc["accuracy"], base["accuracy"]))
print("baseline %.4f, 16-entry palettes %.4f, compression %.2fx, SQNR %.1f dB" % (base["accuracy"], wc["accuracy"], n["compression"], n["sqnr_db"]))
' || fail "the recipe's result"

step "the studio's optimize panel offers it"
JOULE_EXPECT_PLUGIN=weight-clustering QT_QPA_PLATFORM=offscreen "$panel" || fail "the optimize panel"

step "built against an SDK of plugin API 2, it is listed as broken and never loaded"
cp -a "$prefix" "$work/prefix2"
sed -i 's|^#define JOULE_PLUGIN_API_VERSION 1$|#define JOULE_PLUGIN_API_VERSION 2|; s|"org.joule-studio.Plugin/1"|"org.joule-studio.Plugin/2"|' \
  "$work/prefix2/include/joule/plugin/plugin_interface.h"
grep -q 'Plugin/2' "$work/prefix2/include/joule/plugin/plugin_interface.h" || fail "could not make an API-2 SDK"
configure "$work/prefix2" "$work/ex2"
cmake --build "$work/ex2" --target weight-clustering > "$work/ex2-build.log" 2>&1 || { tail -40 "$work/ex2-build.log"; fail "building against the API-2 SDK"; }
export JOULE_PLUGIN_PATH=$work/ex2/plugins
LD_DEBUG=files "$joule" plugins --json > "$work/plugins2.json" 2> "$work/ld.log"
json "$work/plugins2.json" '
w = [p for p in d["plugins"] if p["path"].endswith("libweight-clustering.so")]
w or sys.exit("not listed")
w = w[0]
w["ok"] and sys.exit("listed as usable")
w["name"] == "weight-clustering" or sys.exit("name %s" % w["name"])
w["error"].startswith("built for Joule plugin API 2, but this Joule provides API 1") or sys.exit("reason: %s" % w["error"])
print("listed: %s" % w["error"])
' || fail "the API-2 plugin's listing"
if grep -q 'libweight-clustering' "$work/ld.log"; then fail "joule plugins loaded the API-2 plugin"; fi
grep -q 'libjoule-core' "$work/ld.log" || fail "LD_DEBUG=files shows no library loads: the check above proves nothing"
if LD_DEBUG=files "$joule" optimize "$work/recipe.json" > /dev/null 2> "$work/optimize2.err"; then fail "optimize ran a broken plugin"; fi
grep -q "plugin 'weight-clustering' is broken: built for Joule plugin API 2" "$work/optimize2.err" \
  || { grep -v '^ *[0-9]*:' "$work/optimize2.err"; fail "joule optimize's reason"; }
if grep -q 'libweight-clustering' "$work/optimize2.err"; then fail "joule optimize loaded the API-2 plugin"; fi
echo "ok"
