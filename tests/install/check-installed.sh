#!/usr/bin/env bash
# Installs a build into a temporary DESTDIR and checks what a user of the
# installed library gets, with nothing from the source tree on the include
# path (every compile runs in a temp directory, with pkg-config's flags only):
#
#   headers    no installed header includes a header that is not installed
#              (the text of every #include "..." and <stirrup/...> resolved
#              against the installed tree)
#   alone      every installed header compiles on its own
#   examples   docs/examples/*.cpp compile and link against the installed
#              library, and local_exec runs
#
# Prints one "PASS name" or "FAIL name" line per check, details before a
# failure; exits 1 if any failed.
#
#   tests/install/check-installed.sh BUILD_DIR
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cxx=${CXX:-c++}

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
failed=0
result() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1"; failed=1; fi; }

if ! meson install -C "$build" --destdir "$dest" >"$dest/install.log" 2>&1; then
  tail -n 30 "$dest/install.log"; result "meson install" 1; exit 1
fi
pc=$(find "$dest" -name stirrup.pc | head -n 1)
if [ -z "$pc" ]; then echo "no stirrup.pc installed"; result "meson install" 1; exit 1; fi
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
prefix=$(pkg-config --variable=prefix stirrup)
pkg() { pkg-config --define-variable=prefix="$dest$prefix" "$@" stirrup; }
inc=$(pkg --variable=includedir)
libdir=$(pkg --variable=libdir)
cflags=$(pkg --cflags)
libs=$(pkg --libs)
work="$dest/work"
mkdir -p "$work"

# headers: resolve every include of the project's own headers as the
# compiler would (a quoted include next to the including file first, then
# the include directory) and require it to be installed.
bad=0
while IFS= read -r h; do
  while IFS= read -r line; do
    name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/' <<<"$line")
    if [[ $line =~ \" ]]; then
      [ -f "$(dirname "$h")/$name" ] || [ -f "$inc/$name" ] && continue
    else
      [[ $name == stirrup/* ]] || continue
      [ -f "$inc/$name" ] && continue
    fi
    echo "  ${h#"$inc"/} includes $name, which is not installed"
    bad=1
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*("|<stirrup/)' "$h")
done < <(find "$inc/stirrup" -type f)
result "installed headers include only installed headers ($(find "$inc/stirrup" -type f | wc -l) headers)" "$bad"

# alone: each header as the only include of a translation unit.
# shellcheck disable=SC2016
find "$inc/stirrup" -type f -name '*.hpp' | sed "s|^$inc/||" | sort | \
  xargs -P "$jobs" -I{} sh -c '
    f=$(echo "$1" | tr / _).cpp
    printf "#include <%s>\n" "$1" > "$2/$f"
    cd "$2" && $3 -std=c++20 -fsyntax-only $4 "$f" > "$f.log" 2>&1 || { echo "  $1 does not compile alone:"; head -n 5 "$f.log" | sed "s/^/    /"; exit 1; }
  ' _ {} "$work" "$cxx" "$cflags"
result "every installed header compiles alone" $?

# examples: compiled from a copy, so no quoted include can reach the tree.
mkdir -p "$work/examples"
cp "$src"/docs/examples/*.cpp "$work/examples/"
# shellcheck disable=SC2016
ls "$work/examples"/*.cpp | xargs -P "$jobs" -I{} sh -c '
    cd "$(dirname "$1")" && $2 -std=c++20 "$1" $3 -Wl,-rpath,"$4" -o "${1%.cpp}" > "$1.log" 2>&1 || { echo "  $(basename "$1"):"; head -n 10 "$1.log" | sed "s/^/    /"; exit 1; }
  ' _ {} "$cxx" "$cflags $libs" "$libdir"
result "docs/examples build against the installed library (pkg-config)" $?

run_dir=$(mktemp -d)
( cd "$run_dir" && "$work/examples/local_exec" >"$work/local_exec.log" 2>&1 )
status=$?
[ $status -eq 0 ] || tail -n 20 "$work/local_exec.log"
rm -rf "$run_dir"
result "the installed docs/examples/local_exec runs" $status

exit "$failed"
