# The Debian package (docs/install.md): in a build tree,
#
#   cpack -G DEB            (or: cmake --build . --target package)
#
# gives fspol_<version>-<revision>_amd64.deb, installing into /usr what
# `cmake --install` installs. cmake/debian/finish.cmake then adds what a
# Debian package carries beyond that: the copyright file, a gzipped
# changelog.Debian, gzipped man pages, static libraries without their debug
# sections, and a pkg-config file naming /usr in the multiarch directory.
# ctest `deb` (tests/tools/deb_test.py) builds it, lints it with lintian
# and runs the tools from the unpacked package.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fspol)
set(CPACK_PACKAGE_VENDOR "fspol maintainers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "stacked filesystems defined by policy")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # fspol_0.1.0-1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER
  "fspol maintainers <maintainers@users.noreply.r-seed-19c65e59.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries the binaries link (libclang-cpp, LLVM, libbpf,
# libfuse3's peers, ...) come from dpkg-shlibdeps (package dpkg-dev); the
# rest are what the tools run: fusermount3 for mounts by other users than
# root.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
# What fspol_add_policy() and the pkg-config file link a program with.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "cmake, pkg-config, libfuse3-dev, liburing-dev, libre2-dev, libbpf-dev, zlib1g-dev")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the rest.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION [=[fspol is a toolchain for stacked filesystems defined by policy. A small
declarative policy (*.fspol) says how a view of a lower directory differs
from the directory itself: what is hidden, what is read-only, who may do
what, how names and metadata look, where a subtree really lives.

This package contains fsc, the policy compiler (checks, formats, explains
and compiles policies, to BPF struct_ops programs for fuse-bpf among
others), fsrun, the daemon that mounts a view (also as mount.fspol, for
fstab), the stdlib policy modules, libfspol_runtime with its headers, and
the CMake package (find_package(fspol), fspol_add_policy()) and pkg-config
file that build programs serving their own policies.]=])

# Read by cmake/debian/finish.cmake, which CPack runs on the staged tree.
set(CPACK_FSPOL_DEBIAN_DIR ${CMAKE_CURRENT_LIST_DIR}/debian)
set(CPACK_FSPOL_MULTIARCH "${CMAKE_LIBRARY_ARCHITECTURE}")
set(CPACK_FSPOL_STRIP "${CMAKE_STRIP}")
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/debian/finish.cmake)

include(CPack)
