# fspol_add_policy(<name> POLICY <file.fspol>
#                  [TARGET_PROFILE <fspol-6.1|rfc-v3>]
#                  [IMPORT_DIRS <dir>...]
#                  [HANDLERS <source>...])
#
# Compiles a policy at build time (`fsc compile`) and makes the static
# library target fspol::policy::<name>: the policy's C++ stubs
# (<name>_stub.h: fspol_policy::<name>::policy(), ::Programs), its
# skeleton and BPF object, the HANDLERS sources (the program's own
# userspace handlers), linking fspol::runtime and libbpf. <name> is the
# name the policy declares (`policy <name> { ... }`); the build fails,
# located, if it is not. Editing the policy or a module it imports
# compiles it again; its errors show in the build log as
# `file:line:col: error: ...` and fail the build.
include_guard(GLOBAL)

function(fspol_add_policy name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "POLICY;TARGET_PROFILE" "IMPORT_DIRS;HANDLERS")
  if(NOT arg_POLICY)
    message(FATAL_ERROR "fspol_add_policy(${name}): POLICY <file.fspol> is required")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "fspol_add_policy(${name}): unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET PkgConfig::LIBBPF)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
  endif()
  get_filename_component(policy "${arg_POLICY}" ABSOLUTE)
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/fspol_policy_${name}")
  set(args compile "${policy}" --name=${name} --emit=stub,skeleton,bpf-obj -o "${dir}"
           "--depfile=${dir}/${name}.d")
  if(arg_TARGET_PROFILE)
    list(APPEND args "--target=${arg_TARGET_PROFILE}")
  endif()
  foreach(import_dir IN LISTS arg_IMPORT_DIRS)
    get_filename_component(import_dir "${import_dir}" ABSOLUTE)
    list(APPEND args -I "${import_dir}")
  endforeach()
  set(outputs "${dir}/${name}_stub.cc" "${dir}/${name}_stub.h" "${dir}/${name}.skel.h"
              "${dir}/${name}.bpf.o")
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${dir}"
    COMMAND "$<TARGET_FILE:fspol::fsc>" ${args}
    DEPENDS "${policy}" "$<TARGET_FILE:fspol::fsc>"
    DEPFILE "${dir}/${name}.d"
    COMMENT "fsc compile ${arg_POLICY}"
    VERBATIM)
  add_library(fspol_policy_${name} STATIC "${dir}/${name}_stub.cc" ${arg_HANDLERS})
  add_library(fspol::policy::${name} ALIAS fspol_policy_${name})
  target_include_directories(fspol_policy_${name} PUBLIC "${dir}")
  target_link_libraries(fspol_policy_${name} PUBLIC fspol::runtime PkgConfig::LIBBPF)
  target_compile_features(fspol_policy_${name} PUBLIC cxx_std_20)
endfunction()
