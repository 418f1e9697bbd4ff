#!/usr/bin/env bash
# Runs clang-tidy 14 with the repository's .clang-tidy over every source file under src/ (not
# tests, benchmarks or fuzz targets), using the compile commands of a build directory CMake has
# configured (CMAKE_EXPORT_COMPILE_COMMANDS is on in CMakeLists.txt). Any finding fails the run.
#
#   scripts/clang-tidy.sh [BUILD_DIR]   default build/asan-ubsan, the configuration
#                                       scripts/test-all.sh builds first; JOBS (default 2) is
#                                       the number of clang-tidy processes at once
#
# Only the configure step is needed, not a build: clang-tidy parses the sources itself. A finding
# that is wrong is silenced at its line with NOLINT(<check>) and the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/asan-ubsan}
jobs=${JOBS:-2}

if [[ ! -f $build/compile_commands.json ]]; then
  echo "clang-tidy.sh: $build/compile_commands.json not found; configure first" \
    "(cmake --preset asan-ubsan)" >&2
  exit 2
fi
tidy=$(command -v clang-tidy-14 || true)
if [[ -z $tidy ]]; then
  echo "clang-tidy.sh: clang-tidy 14 is not installed (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

# The compile commands are GCC's and include CMake's precompiled header (cmake_pch.hxx); clang
# would try to load GCC's cmake_pch.hxx.gch next to it and fail. So clang-tidy reads a copy of
# the database, limited to src/, in which each cmake_pch.hxx is replaced by a copy of its text
# in a directory without the .gch.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$PWD" "$build/compile_commands.json" "$work" <<'PY'
import json, os, shutil, sys

root, database, work = sys.argv[1:4]
entries, copies = [], {}
for entry in json.load(open(database)):
    if not (entry["file"].startswith(root + "/src/") and entry["file"].endswith(".cpp")):
        continue
    command = entry["command"]
    for word in command.split():
        if word.endswith("/cmake_pch.hxx") and word not in copies:
            copy = os.path.join(work, "pch%d" % len(copies), "cmake_pch.hxx")
            os.makedirs(os.path.dirname(copy))
            shutil.copyfile(word, copy)
            copies[word] = copy
    for original, copy in copies.items():
        command = command.replace(original + " ", copy + " ")
    entries.append(dict(entry, command=command))
json.dump(entries, open(os.path.join(work, "compile_commands.json"), "w"), indent=1)
with open(os.path.join(work, "files"), "w") as files:
    files.writelines(entry["file"] + "\n" for entry in entries)
PY

count=$(wc -l < "$work/files")
if [[ $count -eq 0 ]]; then
  echo "clang-tidy.sh: $build/compile_commands.json names no file under src/" >&2
  exit 2
fi
echo "clang-tidy: $count files under src/, $jobs at a time"
# One clang-tidy per file, $jobs at once; a file's output is printed only when it has findings
# (WarningsAsErrors in .clang-tidy makes any finding fail clang-tidy), in one piece.
status=0
xargs -a "$work/files" -P "$jobs" -n 1 sh -c '
  out=$("$0" -p "$1" --quiet "$2" 2>&1) && exit 0
  printf "==== %s\n" "$2"
  printf "%s\n" "$out" | grep -v "^[0-9]* warnings\? \(and [0-9]* errors\? \)\?generated\.$"
  exit 1' "$tidy" "$work" || status=$?
if [[ $status -ne 0 ]]; then
  echo "clang-tidy: findings above; fix them, or NOLINT(<check>) with the reason where one is" \
    "wrong" >&2
else
  echo "clang-tidy: no findings"
fi
exit "$status"
