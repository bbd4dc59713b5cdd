#pragma once
// The daemon's inodes: what a FUSE node id stands for on the lower side.
//
// An Inode is one view of a lower object: the lower (st_dev, st_ino) pair,
// the policy's state of its names and the handler serving its reads, if
// any. An object seen two ways (hard links the policy treats differently,
// a file some callers read through a handler) is one Inode per way, so the
// kernel keeps apart what it caches for each. An Inode is found again
// through its *names*: each inode keeps the (parent, name) links under
// which the kernel learnt it (one for most files, more for hard links). A
// path is rebuilt by walking parents up to the root and resolved with
// openat2 beneath the lower root (lower.h). No fd is held per inode, so
// the number of inodes the kernel keeps is bounded by memory, not by the
// open-file limit.
//
// Lifetime: an inode lives while the kernel holds lookups on it (nlookup,
// decremented by FORGET) or while a child names it as parent (children).
// The node id given to the kernel is the Inode's address; the root is
// FUSE_ROOT_ID.
//
// Locking: one reader-writer lock over the whole table (map, names, counts).
// Path building takes it shared; lookups, forgets, renames and unlinks take
// it exclusive for the few instructions that change links. Lock order:
// table lock before any Inode lock (the per-inode open state is guarded by
// a striped mutex, see open_lock()).

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/engine.h"

namespace fspol::runtime {

struct Inode;
struct FileHandle;

// Where a redirect places a name: a path beneath one of the lower roots
// (by index; 0 is the main root), "." for the root itself.
struct Anchor {
  uint8_t root = 0;
  std::string path;
};

struct Link {
  Inode* parent = nullptr;
  std::string name;  // the lower name of the view's component
  // Set where a redirect starts: the link's object is there, not at
  // `name` in the parent's lower directory.
  std::optional<Anchor> anchor;
};

struct Inode {
  Inode() = default;
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  dev_t dev = 0;
  ino_t ino = 0;
  uint32_t type = 0;  // S_IFMT bits, fixed for the inode's life
  // The policy's view of the node, from the names it is known by: every
  // name of one node has the same state.
  NodeState state;
  // The `handle` rule serving the node's reads (rule id + 1), or 0.
  uint32_t handler = 0;
  // The next Inode of the same lower object (another view of it).
  Inode* next_view = nullptr;
  // Guarded by the table lock.
  uint64_t nlookup = 0;
  uint64_t children = 0;    // links of other inodes naming this one as parent
  std::vector<Link> links;  // empty: unlinked (only open handles reach it)
  bool in_map = true;
  // Guarded by open_lock(this): the open handles of a regular file (a
  // list through FileHandle::next/prev; they reach an unlinked file) and
  // its kernel passthrough state (backing id shared by the passthrough
  // opens, and their count).
  FileHandle* handles = nullptr;
  int backing_id = 0;
  uint32_t open_count = 0;
};

class InodeTable {
 public:
  explicit InodeTable(const struct stat& root);
  ~InodeTable();
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  Inode* root() { return &root_; }
  uint64_t node_id(Inode* inode) const;
  Inode* from_node_id(uint64_t id);

  // Records that the kernel learnt `name` in `parent` as the lower object
  // `st` (LOOKUP, CREATE, MKDIR, READDIRPLUS ...): finds or creates the
  // inode, adds the link, and counts one lookup.
  // `state` is the policy's state of the name (Engine::lookup), `handler`
  // the handler serving its reads for the caller (Engine::handler); they
  // pick the view of the object. `anchor`: where a redirect put it.
  Inode* learn(Inode* parent, const std::string& name, const struct stat& st,
               const NodeState& state, uint32_t handler, const std::optional<Anchor>& anchor);
  // FORGET: drops `n` lookups.
  void forget(Inode* inode, uint64_t n);
  // The name `name` in `parent` is gone (unlink, rmdir) or now names
  // another object (`dev`/`ino` identify the old one), in every view.
  void drop_link(Inode* parent, const std::string& name, dev_t dev, ino_t ino);
  // A successful rename moved the object `dev`/`ino` (every view of it)
  // from (op, on) to (np, nn). `had_target`: the target name held the object `xdev`/`xino`,
  // which moved the other way (`exchange`) or lost that name. `at_new`,
  // `at_old`: the anchors of the new and the old name (redirects).
  void move_link(Inode* op, const std::string& on, Inode* np, const std::string& nn, dev_t dev,
                 ino_t ino, bool exchange, bool had_target, dev_t xdev, ino_t xino,
                 const std::optional<Anchor>& at_new, const std::optional<Anchor>& at_old);

  // The path of `inode` relative to the lower root `root` ("." for the
  // root). Returns false when the inode has no name any more.
  bool path_of(Inode* inode, std::string& out, uint8_t& root);
  // The links from the root down to `inode` (first links), for the view
  // and lower names of its path. False when the inode has no name.
  bool links_of(Inode* inode, std::vector<Link>& out);
  // The path of `inode` as the view shows it ("/a/b", "/" for the root):
  // each link's lower name passed through `view_name(node, lower)`.
  bool view_path(Inode* inode,
                 const std::function<std::string(const Inode*, const std::string&)>& view_name,
                 std::string& out);
  // The parent path and name of `inode`'s first link in the lower root
  // `root` (root: "." and ".").
  bool parent_and_name(Inode* inode, std::string& parent, std::string& name, uint8_t& root);

  size_t size();
  static std::mutex& open_lock(const Inode* inode);
  // Calls `fn` on every inode, the root first and each after the parent
  // of its first link, with the table lock held (a reload's new states).
  void each_parent_first(const std::function<void(Inode*)>& fn);

 private:
  struct Key {
    dev_t dev;
    ino_t ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept {
      return std::hash<uint64_t>()(k.ino * 0x9E3779B97F4A7C15ULL ^ k.dev);
    }
  };

  bool append_path(Inode* inode, std::string& out, uint8_t& root);  // table lock held
  void add_link(Inode* inode, Inode* parent, const std::string& name,
                const std::optional<Anchor>& anchor);
  void remove_link(Inode* inode, Inode* parent, const std::string& name);
  void maybe_free(Inode* inode);
  void unchain(Inode* inode);  // takes a freed inode out of its object's views
  // The views of the lower object `dev`/`ino` that have the link
  // (parent, name) (at most kMaxViews).
  static constexpr size_t kMaxViews = 8;
  size_t views_named(dev_t dev, ino_t ino, Inode* parent, const std::string& name,
                     std::array<Inode*, kMaxViews>& out);

  std::shared_mutex mu_;
  Inode root_;
  std::unordered_map<Key, Inode*, KeyHash> map_;  // the first view of each object
  // Inodes whose lower number another object took while the kernel held
  // them: out of the map, still served.
  std::vector<Inode*> orphans_;
};

}  // namespace fspol::runtime
