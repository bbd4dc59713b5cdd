#!/usr/bin/env bash
# The bash completions of fsc and fsrun (installed to
# share/bash-completion/completions): what TAB offers at a few places.
# argv: SOURCE_DIR. Skips (77) without the bash-completion package.
set -uo pipefail
source_dir=$1
lib=/usr/share/bash-completion/bash_completion
[[ -r $lib ]] || { echo "SKIP: bash-completion is not installed"; exit 77; }
# shellcheck disable=SC1090
source "$lib"
source "$source_dir/compiler/tools/fsc/fsc.bash"
source "$source_dir/runtime/tools/fsrun/fsrun.bash"
compopt() { :; }  # only meaningful inside a real completion

failures=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/dir"
touch "$work/a.fspol" "$work/b.txt"
cd "$work" || exit 1

# complete LINE: COMPREPLY for the cursor at the end of LINE.
complete_line() {
  local line=$1
  COMP_LINE=$line
  COMP_POINT=${#line}
  read -ra COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  "_${COMP_WORDS[0]}" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
  local got
  got=$(complete_line "$1")
  if [[ $got != "$2" ]]; then
    echo "FAIL: '$1' completes to '$got', want '$2'"
    failures=$((failures + 1))
  fi
}

expect "fsc com" "compile"
expect "fsc compile --emit=bp" "--emit=bpf-c --emit=bpf-obj"
expect "fsc compile --emit=ir,sk" "--emit=ir,skeleton"
expect "fsc compile --tar" "--target="
expect "fsc compile --target=r" "--target=rfc-v3"
expect "fsc explain a.fspol / --op xa" "xattr_read xattr_write"
expect "fsc explain a.fspol / --type d" "dir"
expect "fsc check --diagnostics-format=j" "--diagnostics-format=json"
expect "fsc check " "a.fspol dir"
expect "fsrun mo" "mount"
expect "fsrun mount " "a.fspol dir"
expect "fsrun mount -o cache=a" "cache=always cache=auto"
expect "fsrun mount -o ro,ur" "ro,uring="
expect "fsrun status --j" "--json"
expect "fsrun mount --mode f" "fuse-bpf"
expect "fsrun mount -o ro,mode=d" "ro,mode=daemon"
expect "fsrun mount --mo" "--mode"

if ((failures)); then
  echo "$failures completions wrong"
  exit 1
fi
echo "ok: 14 completions"
