#include "fuse/lower.h"

#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

namespace fspol::runtime {

int open_beneath(int dirfd, const char* path, uint64_t flags, uint64_t mode) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to
    // retry rather than risk an escape.
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void read_all(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
}

namespace {

// ext4's superblock says whether it was made with casefolding (`mkfs.ext4
// -O casefold`): s_magic at 0x38, s_feature_incompat at 0x60, 1024 bytes
// into the device. Unreadable: assume it may.
bool ext4_casefolds(dev_t dev) {
  std::string device =
      "/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return true;
  uint16_t magic = 0;
  uint32_t incompat = 0;
  if (::pread(fd.get(), &magic, sizeof magic, 1024 + 0x38) != sizeof magic ||
      ::pread(fd.get(), &incompat, sizeof incompat, 1024 + 0x60) != sizeof incompat ||
      magic != EXT4_SUPER_MAGIC) {
    return true;
  }
  constexpr uint32_t kIncompatCasefold = 0x20000;
  return (incompat & kIncompatCasefold) != 0;
}

bool kernel_casefolds(const char* fs) {
  return ::access((std::string("/sys/fs/") + fs + "/features/casefold").c_str(), F_OK) == 0;
}

}  // namespace

bool may_alias_names(int dirfd, std::string& kind) {
  struct statfs fs {};
  if (::fstatfs(dirfd, &fs) != 0) return false;
  struct Folding {
    unsigned long magic;
    const char* name;
  };
  // NTFS, HFS and bcachefs have no constant in <linux/magic.h>.
  static constexpr Folding kFolding[] = {
      {FUSE_SUPER_MAGIC, "fuse"},
      {MSDOS_SUPER_MAGIC, "vfat"},
      {EXFAT_SUPER_MAGIC, "exfat"},
      {0x5346544e, "ntfs"},
      {0x7366746e, "ntfs3"},
      {0x482b, "hfsplus"},
      {0x4244, "hfs"},
      {CIFS_SUPER_MAGIC, "cifs"},
      {SMB2_SUPER_MAGIC, "smb2"},
      {ISOFS_SUPER_MAGIC, "iso9660"},
      {UDF_SUPER_MAGIC, "udf"},
  };
  auto magic = static_cast<unsigned long>(fs.f_type);
  for (const Folding& f : kFolding) {
    if (f.magic == magic) {
      kind = f.name;
      return true;
    }
  }
  if (magic == EXT4_SUPER_MAGIC) {
    struct stat st {};
    kind = "ext4 with casefolding";
    return kernel_casefolds("ext4") && ::fstat(dirfd, &st) == 0 && ext4_casefolds(st.st_dev);
  }
  static constexpr Folding kMayFold[] = {
      {F2FS_SUPER_MAGIC, "f2fs"}, {TMPFS_MAGIC, "tmpfs"}, {0xca451a4e, "bcachefs"}};
  for (const Folding& f : kMayFold) {
    if (f.magic == magic && kernel_casefolds(f.name)) {
      kind = std::string(f.name) + " with casefolding";
      return true;
    }
  }
  return false;
}

int chmod_nofollow(int dirfd, const char* name, mode_t mode) {
#ifndef SYS_fchmodat2
  constexpr long kSysFchmodat2 = 452;  // x86_64 and the generic table
#else
  constexpr long kSysFchmodat2 = SYS_fchmodat2;
#endif
  static bool have_fchmodat2 = true;
  if (have_fchmodat2) {
    if (::syscall(kSysFchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0) return 0;
    if (errno != ENOSYS) return -errno;
    have_fchmodat2 = false;
  }
  int fd = open_beneath(dirfd, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return fd;
  UniqueFd guard(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0) return -errno;
  if (S_ISLNK(st.st_mode)) return -EOPNOTSUPP;
  if (::chmod(proc_fd_path(fd).c_str(), mode) != 0) return -errno;
  return 0;
}

}  // namespace fspol::runtime
