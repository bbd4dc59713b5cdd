# Run by CPack (CPACK_PRE_BUILD_SCRIPTS, cmake/Packaging.cmake) on the
# staged install tree before it becomes the .deb: adds what a Debian
# package carries beyond `cmake --install`.
#   - /usr/share/doc/fspol/copyright and changelog.Debian.gz (gzip -9n);
#   - man pages gzip -9n'd; a `.so` page becomes a symlink to the page it
#     names (Debian policy 12.1);
#   - static libraries lose their debug sections (strip --strip-debug,
#     as dh_strip does; CPACK_STRIP_FILES strips only the executables);
#   - pkg-config files name the package's prefix, not the build's
#     CMAKE_INSTALL_PREFIX, and live in /usr/lib/<multiarch>/pkgconfig
#     where pkg-config's cross wrappers look too;
#   - lintian overrides, if cmake/debian/lintian-overrides exists.
cmake_minimum_required(VERSION 3.20)

set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}")
if(NOT IS_DIRECTORY "${root}/bin")
  message(FATAL_ERROR "fspol packaging: no staged tree at ${root}")
endif()
set(debian "${CPACK_FSPOL_DEBIAN_DIR}")

function(gzip_n file)
  execute_process(COMMAND gzip -9nf "${file}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fspol packaging: gzip -9n ${file} failed")
  endif()
endfunction()

set(doc "${root}/share/doc/${CPACK_PACKAGE_NAME}")
file(MAKE_DIRECTORY "${doc}")
file(COPY "${debian}/copyright" DESTINATION "${doc}"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
configure_file("${debian}/changelog.in" "${doc}/changelog.Debian" @ONLY)
file(CHMOD "${doc}/changelog.Debian" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
gzip_n("${doc}/changelog.Debian")

file(GLOB pages "${root}/share/man/man*/*")
foreach(page ${pages})
  if(IS_SYMLINK "${page}" OR page MATCHES "\\.gz$")
    continue()
  endif()
  file(STRINGS "${page}" lines LIMIT_COUNT 2)
  list(LENGTH lines n)
  if(n EQUAL 1 AND lines MATCHES "^\\.so (man[0-9a-z]+)/([^ ]+)$")
    set(section "${CMAKE_MATCH_1}")
    set(target "${CMAKE_MATCH_2}.gz")
    get_filename_component(dir "${page}" DIRECTORY)
    get_filename_component(dirname "${dir}" NAME)
    if(NOT dirname STREQUAL section)
      set(target "../${section}/${target}")
    endif()
    file(REMOVE "${page}")
    file(CREATE_LINK "${target}" "${page}.gz" SYMBOLIC)
  else()
    gzip_n("${page}")
  endif()
endforeach()

if(CPACK_FSPOL_STRIP)
  file(GLOB_RECURSE archives "${root}/lib/*.a")
  foreach(archive ${archives})
    execute_process(COMMAND "${CPACK_FSPOL_STRIP}" --strip-debug --remove-section=.comment
      --remove-section=.note --enable-deterministic-archives "${archive}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "fspol packaging: ${CPACK_FSPOL_STRIP} --strip-debug ${archive} failed")
    endif()
  endforeach()
endif()

file(GLOB_RECURSE pcs "${root}/lib/*.pc")
foreach(pc ${pcs})
  file(READ "${pc}" text)
  string(REGEX REPLACE "(^|\n)prefix=[^\n]*" "\\1prefix=${CPACK_PACKAGING_INSTALL_PREFIX}" text "${text}")
  file(WRITE "${pc}" "${text}")
  get_filename_component(dir "${pc}" DIRECTORY)
  set(multiarch_dir "${root}/lib/${CPACK_FSPOL_MULTIARCH}/pkgconfig")
  if(CPACK_FSPOL_MULTIARCH AND NOT dir STREQUAL multiarch_dir)
    get_filename_component(name "${pc}" NAME)
    file(MAKE_DIRECTORY "${multiarch_dir}")
    file(RENAME "${pc}" "${multiarch_dir}/${name}")
    file(GLOB left "${dir}/*")
    if(NOT left)
      file(REMOVE_RECURSE "${dir}")
    endif()
  endif()
endforeach()

if(EXISTS "${debian}/lintian-overrides")
  set(overrides "${root}/share/lintian/overrides")
  file(MAKE_DIRECTORY "${overrides}")
  configure_file("${debian}/lintian-overrides" "${overrides}/${CPACK_PACKAGE_NAME}" COPYONLY)
  file(CHMOD "${overrides}/${CPACK_PACKAGE_NAME}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
