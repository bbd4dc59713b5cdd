# fspol_warnings: the warning set every fspol target links privately.
# An INTERFACE target rather than add_compile_options, so projects that
# include fspol with add_subdirectory keep their own flags.
if(NOT TARGET fspol_warnings)
  add_library(fspol_warnings INTERFACE)
  target_compile_options(fspol_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(FSPOL_WERROR)
    target_compile_options(fspol_warnings INTERFACE -Werror)
  endif()
endif()
