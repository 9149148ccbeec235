# bash completion for cnnc: its options, the kinds of --emit, the passes
# of --passes and --print-after (asked of cnnc itself, so that a new pass
# completes without editing this file), --cpu=help and native, and .cnn
# files. Installed as share/bash-completion/completions/cnnc.

_cnnc_passes() {
  "${1:-cnnc}" --list-passes 2>/dev/null
}

_cnnc() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local cnnc=${COMP_WORDS[0]}
  local options="-o --emit= -O0 -O1 -O2 -O3 --target= --cpu= --infer
    --weights= --name= --reference --mpi --summary --print-ir --print-after=
    --passes= --list-passes --help --version"
  # `--opt=value` reaches us as `--opt`, `=`, `value`
  if [[ $cur == = ]]; then
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cur=""
  elif [[ $prev == = ]]; then
    prev=${COMP_WORDS[COMP_CWORD-2]}
  else
    prev=""
    [[ ${COMP_WORDS[COMP_CWORD-1]} == -o ]] && prev=-o
  fi
  case $prev in
    --emit)
      mapfile -t COMPREPLY < <(compgen -W "exe obj asm llvm torch" -- "$cur")
      return ;;
    --cpu)
      mapfile -t COMPREPLY < <(compgen -W "help native" -- "$cur")
      return ;;
    --passes)
      local done="" word=$cur
      if [[ $cur == *,* ]]; then
        done=${cur%,*},
        word=${cur##*,}
      fi
      mapfile -t COMPREPLY < <(compgen -P "$done" -W "$(_cnnc_passes "$cnnc")" -- "$word")
      return ;;
    --print-after)
      mapfile -t COMPREPLY < <(compgen -W "all $(_cnnc_passes "$cnnc")" -- "$cur")
      return ;;
    --weights)
      mapfile -t COMPREPLY < <(compgen -f -X '!*.safetensors' -- "$cur"; compgen -d -- "$cur")
      return ;;
    -o)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return ;;
    --target|--name) # a triple, a C name: nothing to offer
      COMPREPLY=()
      return ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    # no space after `--opt=`: the value follows
    [[ ${COMPREPLY[0]:-} == *= ]] && { compopt -o nospace 2>/dev/null || true; }
    return
  fi
  mapfile -t COMPREPLY < <(compgen -f -X '!*.cnn' -- "$cur"; compgen -d -- "$cur")
}

complete -o filenames -F _cnnc cnnc
