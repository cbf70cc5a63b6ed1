#!/usr/bin/python3
"""Rewrites the --help blocks of docs/cli.md from the built programs, keeping the prose around them.

    /usr/bin/python3 tests/cli/update_cli_reference.py BUILD_DIR

A block is `<!-- help: PROGRAM [COMMAND] -->` followed by a ```text fence. Blocks of programs or
commands that no longer exist are reported, not deleted; a command without a block is reported too
(write its section by hand, then run this again). tst_cli_reference checks the result.
"""
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build"))
path = os.path.join(root, "docs", "cli.md")
env = dict(os.environ, QT_QPA_PLATFORM="offscreen")


def help_of(key):
    argv = key.split()
    out = subprocess.run([os.path.join(build, "bin", argv[0])] + argv[1:] + ["--help"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return out


text = open(path, encoding="utf-8").read()
block = re.compile(r"<!-- help: ([a-z -]+?) -->\n```text\n(.*?)```\n", re.S)
usage = help_of("joule")
commands = re.findall(r"^  ([a-z]+) ", usage.split("commands:\n", 1)[1], re.M)
known = {"joule", "joule-studio", "joule-conformance"} | {"joule " + c for c in commands}
seen = set()


def refresh(m):
    key = m.group(1)
    seen.add(key)
    if key not in known:
        print("stale block (remove it by hand):", key, file=sys.stderr)
        return m.group(0)
    return "<!-- help: %s -->\n```text\n%s```\n" % (key, help_of(key))


text = block.sub(refresh, text)
for key in sorted(known - seen):
    print("no block yet (add a section with <!-- help: %s -->):" % key, file=sys.stderr)
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
os.replace(tmp, path)
