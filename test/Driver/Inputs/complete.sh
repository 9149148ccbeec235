#!/usr/bin/env bash
# complete.sh COMPLETION-SCRIPT WORD... - what bash's completion of cnnc
# offers for the command line WORD... (the last word is the one being
# completed; `--opt=` is given as `--opt = ''`, as bash splits it), one
# candidate a line.
set -eu
script=$1
shift
# shellcheck source=/dev/null
source "$script"
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_cnnc
printf '%s\n' "${COMPREPLY[@]}"
