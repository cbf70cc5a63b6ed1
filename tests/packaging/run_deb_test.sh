#!/usr/bin/env bash
# The Debian package as a user meets it: build it with CPack, check it with lintian (no errors),
# install it into this machine with dpkg -i, run the installed programs on a bundled model, validate
# the desktop entry, then remove it and check that nothing it installed is left behind.
# Needs root (or sudo): it installs into /usr. Usage: run_deb_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/joule-deb.XXXXXX")
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
pkg=joule-studio
installed=0
cleanup() {
  if ((installed)); then $SUDO dpkg --purge "$pkg" > /dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q "installed"; then
  fail "$pkg is already installed on this machine; this test installs and removes it, so remove it first (dpkg -r $pkg)"
fi
[[ -z $SUDO ]] || sudo -n true 2> /dev/null || fail "installing a package needs root or password-less sudo"

step "build the package"
(cd "$build" && cpack -G DEB -B "$work/out" > "$work/cpack.log" 2>&1) || { tail -30 "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/${pkg}_*.deb) || fail "cpack wrote no ${pkg}_*.deb"
dpkg-deb --info "$deb"
depends=$(dpkg-deb --field "$deb" Depends)
for lib in libqt6core6 libqt6widgets6 libqcustomplot2.1-qt6 libprotobuf32 libsqlite3-0 libgvc6; do
  grep -q "\b$lib\b" <<< "$depends" || fail "Depends does not name $lib: $depends"
done
dpkg-deb --contents "$deb" > "$work/contents.txt"
for f in ./usr/bin/joule ./usr/bin/joule-studio ./usr/lib/joule/libjoule-core.so.0.1 ./usr/lib/joule/plugins/libquantize.so ./usr/share/applications/joule-studio.desktop \
         ./usr/share/icons/hicolor/48x48/apps/joule-studio.png ./usr/share/icons/hicolor/scalable/apps/joule-studio.svg \
         ./usr/share/man/man1/joule.1.gz ./usr/share/man/man1/joule-studio.1.gz ./usr/share/joule/models/fmnist_resnet8.onnx \
         ./usr/share/joule/targets/stm32l4r5.json ./usr/share/doc/joule-studio/copyright ./usr/lib/cmake/Joule/JouleConfig.cmake; do
  grep -q " $f\( \|$\)" "$work/contents.txt" || fail "the package has no $f"
done

step "lintian"
lintian --fail-on error --tag-display-limit 0 "$deb" | tee "$work/lintian.txt" || fail "lintian reports errors"
if grep -q '^E:' "$work/lintian.txt"; then fail "lintian reports errors"; fi

step "install"
$SUDO dpkg -i "$deb" || fail "dpkg -i"
installed=1
dpkg-query -W -f='${Status}\n' "$pkg" | grep -q "install ok installed" || fail "dpkg does not call it installed"
dpkg -L "$pkg" > "$work/files.txt"

step "run what it installed"
[[ $(command -v joule) == /usr/bin/joule ]] || fail "joule on PATH is $(command -v joule), not /usr/bin/joule"
version=$(/usr/bin/joule --version)
[[ $version == "joule $(dpkg-query -W -f='${Version}' "$pkg")" ]] || fail "joule --version says '$version'"
home=$work/home; mkdir -p "$home"   # no user plugins, no user settings
env -u JOULE_PLUGIN_PATH HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" /usr/bin/joule plugins > "$work/plugins.txt"
cat "$work/plugins.txt"
env -u JOULE_PLUGIN_PATH HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" /usr/bin/joule plugins --json > "$work/plugins.json"
/usr/bin/python3 - "$work/plugins.json" <<'PY' || fail "joule plugins"
import json, sys
d = json.load(open(sys.argv[1]))
ps = {p["name"]: p for p in d["plugins"]}
for b in ("quantize", "prune", "cascade", "early_exit"):
    p = ps.get(b) or sys.exit("built-in plugin %s not listed" % b)
    p["ok"] or sys.exit("%s broken: %s" % (b, p["error"]))
    p["path"].startswith("/usr/lib/joule/plugins/") or sys.exit("%s found at %s" % (b, p["path"]))
bad = [p for p in d["plugins"] if not p["ok"]]
bad and sys.exit("broken: %s" % bad)
PY
/usr/bin/joule info /usr/share/joule/models/fmnist_resnet8.onnx --json > "$work/info.json" || fail "joule info on the bundled model"
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d['nodes'] > 10 and d['macs'] > 0 and d['inputs'][0]['shape'][1:] == [1,28,28] else 'info: %s' % d)" "$work/info.json" \
  || fail "joule info's answer"
/usr/bin/joule info /usr/share/joule/models/fmnist_resnet8.onnx | head -5
grep -q stm32l4r5 <<< "$(/usr/bin/joule targets)" || fail "joule targets does not list the installed stm32l4r5"
grep -q "0.1.0" <<< "$(QT_QPA_PLATFORM=offscreen /usr/bin/joule-studio --version)" || fail "joule-studio --version"
desktop-file-validate /usr/share/applications/joule-studio.desktop || fail "desktop-file-validate"
for page in joule joule-studio; do
  grep -q '^\.SH' <<< "$(zcat "/usr/share/man/man1/$page.1.gz")" || fail "man page $page.1 is empty"
done
grep -q 'joule optimize' <<< "$(zcat /usr/share/man/man1/joule.1.gz)" || fail "joule.1 has no section for joule optimize"

step "remove"
$SUDO dpkg -r "$pkg" || fail "dpkg -r"
left=0
while read -r path; do
  [[ -z $path || $path == /. ]] && continue
  if [[ -e $path && ! -d $path ]] || [[ -L $path ]]; then echo "left behind: $path" >&2; left=1; fi
done < "$work/files.txt"
# Folders of its own must be gone too (shared ones like /usr/share/icons stay, as they should).
for d in /usr/lib/joule /usr/share/joule /usr/include/joule /usr/lib/cmake/Joule /usr/share/doc/joule-studio; do
  [[ -e $d ]] && { echo "left behind: $d" >&2; left=1; }
done
((left == 0)) || fail "dpkg -r left files behind"
$SUDO dpkg --purge "$pkg" > /dev/null
installed=0
dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q "installed" && fail "dpkg still lists $pkg"
echo "ok: $(wc -l < "$work/files.txt") paths installed and removed; lintian: $(grep -c '^W:' "$work/lintian.txt" || true) warnings"
