#pragma once
// The FUSE wire protocol as this runtime speaks it.
//
// Debian 12's <linux/fuse.h> stops at protocol 7.38. Kernel passthrough
// (7.40) and later additions are declared here from the protocol's
// documentation, next to the system header rather than replacing it, so
// the structures the kernel shares with older headers keep one definition.
// Where 7.40 reused a padding field (fuse_open_out, fuse_init_out) we
// declare our own layout of the same size.

#include <linux/fuse.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>

namespace fspol::runtime::proto {

// The highest minor version this runtime implements. We answer INIT with
// min(kernel's minor, kMinor), as the protocol requires.
inline constexpr uint32_t kMinor = 45;
// Minor version that introduced kernel passthrough.
inline constexpr uint32_t kMinorPassthrough = 40;

// INIT flags past 7.38 (bit 32+ travel in flags2).
inline constexpr uint64_t kInitPassthrough = 1ULL << 37;
inline constexpr uint64_t kInitNoExportSupport = 1ULL << 38;
inline constexpr uint64_t kInitOverIoUring = 1ULL << 41;

// fuse_open_out.open_flags.
inline constexpr uint32_t kOpenDirectIo = 1U << 0;
inline constexpr uint32_t kOpenKeepCache = 1U << 1;
inline constexpr uint32_t kOpenCacheDir = 1U << 3;
inline constexpr uint32_t kOpenNoflush = 1U << 5;
inline constexpr uint32_t kOpenParallelDirectWrites = 1U << 6;
inline constexpr uint32_t kOpenPassthrough = 1U << 7;

// Opcodes newer than the system header.
inline constexpr uint32_t kOpStatx = 52;
inline constexpr uint32_t kOpCopyFileRange64 = 53;

// fuse_init_out as of 7.40+: max_stack_depth took unused[0].
struct InitOut {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint16_t max_background;
  uint16_t congestion_threshold;
  uint32_t max_write;
  uint32_t time_gran;
  uint16_t max_pages;
  uint16_t map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;
  uint16_t request_timeout;
  uint16_t unused[11];
};
static_assert(sizeof(InitOut) == sizeof(fuse_init_out));

// fuse_open_out as of 7.40: backing_id took the padding.
struct OpenOut {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};
static_assert(sizeof(OpenOut) == sizeof(fuse_open_out));

// FUSE_DEV_IOC_BACKING_OPEN argument: registers `fd` as a backing file and
// returns its id (> 0); FUSE_DEV_IOC_BACKING_CLOSE takes that id back.
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};

// FUSE over io_uring (7.42). A ring entry is a header block and a payload
// buffer registered with FUSE_IO_URING_CMD_REGISTER; the kernel writes a
// request's fuse_in_header into in_out, its first argument (the fixed-size
// part) into op_in and the rest (names, data) into the payload. The reply
// goes back as a fuse_out_header in in_out and every reply argument in the
// payload, committed with FUSE_IO_URING_CMD_COMMIT_AND_FETCH, which also
// waits for the next request.
inline constexpr uint32_t kUringCmdRegister = 1;
inline constexpr uint32_t kUringCmdCommitAndFetch = 2;
inline constexpr size_t kUringHeaderSize = 128;

struct UringEntInOut {
  uint64_t flags;
  uint64_t commit_id;  // the request's unique id, to be committed
  uint32_t payload_sz;  // bytes used in the payload buffer
  uint32_t padding;
  uint64_t reserved;
};

struct UringReqHeader {
  char in_out[kUringHeaderSize];
  char op_in[kUringHeaderSize];
  UringEntInOut ring_ent_in_out;
};

// The command carried in a 128-byte SQE's command area.
struct UringCmdReq {
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};

inline constexpr unsigned long kIocClone = FUSE_DEV_IOC_CLONE;
inline constexpr unsigned long kIocBackingOpen = _IOW(FUSE_DEV_IOC_MAGIC, 1, BackingMap);
inline constexpr unsigned long kIocBackingClose = _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t);

}  // namespace fspol::runtime::proto
