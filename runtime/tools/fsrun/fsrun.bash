# bash completion for fsrun(8): commands, mount options after -o, fspol
# mount points for umount, status and reload, .fspol files and directories.
_fsrun_mounts() {
  awk '$3 == "fuse.fspol" {print $2}' /proc/mounts 2>/dev/null
}

_fsrun() {
  local cur prev words cword
  _init_completion -n =, || return
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W "mount umount status reload --help" -- "$cur"))
    return
  fi
  local command=${words[1]}
  if [[ $prev == --mode ]]; then
    COMPREPLY=($(compgen -W "auto fuse-bpf daemon" -- "$cur"))
    return
  fi
  if [[ $prev == -o ]]; then
    local options="cache= entry_timeout= attr_timeout= negative_timeout= timeout= passthrough
      writeback uring= allow_other default_permissions threads= max_write= fsname= lower. log= ro
      nosuid nodev noexec noatime mode= bpf="
    local head=${cur%,*}
    [[ $head == "$cur" ]] && head="" || head="$head,"
    case ${cur##*,} in
      cache=*) COMPREPLY=($(compgen -P "$head" -W "cache=auto cache=never cache=always" -- "${cur##*,}")) ;;
      uring=*) COMPREPLY=($(compgen -P "$head" -W "uring=auto uring=on uring=off" -- "${cur##*,}")) ;;
      mode=*) COMPREPLY=($(compgen -P "$head" -W "mode=auto mode=fuse-bpf mode=daemon" -- "${cur##*,}")) ;;
      *) COMPREPLY=($(compgen -P "$head" -W "$options" -- "${cur##*,}")) ;;
    esac
    compopt -o nospace
    return
  fi
  if [[ $cur == -* ]]; then
    case $command in
      mount) COMPREPLY=($(compgen -W "-o -f -d -I --mode --stdlib= --users= --groups= -Werror --help" -- "$cur")) ;;
      status) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
    esac
    return
  fi
  case $command in
    mount)
      if ((cword == 2)); then _filedir fspol; else _filedir -d; fi ;;
    umount | status) COMPREPLY=($(compgen -W "$(_fsrun_mounts)" -- "$cur")) ;;
    reload)
      if ((cword == 2)); then COMPREPLY=($(compgen -W "$(_fsrun_mounts)" -- "$cur")); else _filedir fspol; fi ;;
  esac
}
complete -F _fsrun fsrun
