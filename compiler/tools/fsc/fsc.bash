# bash completion for fsc(1): commands, options, --emit kinds, --target
# profiles, --op operations, --type file types, and .fspol files.
_fsc() {
  local cur prev words cword
  _init_completion -n = || return
  local commands="check fmt compile verify explain help version"
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local command=${words[1]}
  case $cur in
    --emit=*)
      local kinds="ir plan bpf-c harness-c bpf-obj harness-obj skeleton stub all"
      local done=${cur#--emit=}
      local head=${done%,*}
      [[ $head == "$done" ]] && head="" || head="$head,"
      COMPREPLY=($(compgen -P "--emit=$head" -W "$kinds" -- "${done##*,}"))
      compopt -o nospace
      return ;;
    --target=*) COMPREPLY=($(compgen -P --target= -W "fspol-6.1 rfc-v3" -- "${cur#--target=}")); return ;;
    --color=*) COMPREPLY=($(compgen -P --color= -W "auto always never" -- "${cur#--color=}")); return ;;
    --diagnostics-format=*)
      COMPREPLY=($(compgen -P --diagnostics-format= -W "text json" -- "${cur#--diagnostics-format=}"))
      return ;;
    --stdlib=* | --depfile=*) _filedir -d; return ;;
    --users=* | --groups=*) cur=${cur#*=}; _filedir; return ;;
  esac
  case $prev in
    --op)
      COMPREPLY=($(compgen -W "lookup stat readdir read write exec create delete rename link chmod chown truncate utimes xattr_read xattr_write lock" -- "$cur"))
      return ;;
    --type) COMPREPLY=($(compgen -W "file dir symlink fifo socket chardev blockdev" -- "$cur")); return ;;
    -I | -o) _filedir -d; return ;;
    --uid | --gid | --comm | --to) return ;;
  esac
  if [[ $cur == -* ]]; then
    local common="-I --stdlib= --users= --groups= -Werror --color= --diagnostics-format= --error-limit= --help"
    local own=""
    case $command in
      fmt) own="--check -i --in-place" ;;
      compile) own="--emit= -o --target= --json --stats --name= --depfile=" ;;
      verify) own="--target= --random-names=" ;;
      explain) own="--op --uid --gid --comm --type --to --json" ;;
    esac
    COMPREPLY=($(compgen -W "$own $common" -- "$cur"))
    [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
    return
  fi
  _filedir fspol
}
complete -F _fsc fsc
