// Where names live on the lower side: name maps, case folding and
// redirects (docs/runtime.md, "Placement").
//
// Without redirects a name is in its parent's lower directory, under its
// name map's lower name. A redirect serves a subtree from another lower
// root: where it starts (the anchor), the name is at the target path the
// rule gives (ir::redirect_target), opened beneath that root with openat2;
// below the anchor, names follow their parents as everywhere else, so a
// path never leaves the root it started in. A redirect filtered on file
// types places a name by the type of what is there: each place the
// policy can give the name is tried in rule order, and an object counts
// only where its own type puts it.
#include <fcntl.h>
#include <sys/stat.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fuse/fs.h"

namespace fspol::runtime {

uint8_t FsState::root_index(const std::string& name) const {
  for (size_t i = 0; i < root_names_.size(); ++i) {
    if (root_names_[i] == name) return static_cast<uint8_t>(i);
  }
  return 0;  // sema checks every target names a declared root
}

bool FsState::path_names(Inode* node, std::vector<std::string>& views,
                         std::vector<std::string>& lowers) {
  std::vector<Link> links;
  if (!inodes_->links_of(node, links)) return false;
  for (size_t i = 0; i < links.size(); ++i) {
    const Inode* self = i + 1 < links.size() ? links[i + 1].parent : node;
    views.push_back(engine_->view_name(self->state, links[i].name, type_bit(self->type)));
    lowers.push_back(links[i].name);
  }
  return true;
}

int FsState::place_at(Inode* dir, std::string_view view, const Engine::Lookup& lookup,
                      uint32_t placed, uint8_t type, Place& out) {
  out.state = lookup.node;
  out.link = lookup.lower_name;
  if (placed == 0) {
    int dirfd = open_dir_of(dir, out.holder);
    if (dirfd < 0) return -dirfd;
    out.dirfd = dirfd;
    out.name = lookup.folded ? stored_name(dirfd, lookup.lower_name) : lookup.lower_name;
    out.link = out.name;
    return aliases_ && !engine_->trivial() ? refuse_alias(root_of(dir), dirfd, out.name, type) : 0;
  }
  std::vector<std::string> views, lowers;
  if (!path_names(dir, views, lowers)) return ENOENT;
  views.emplace_back(view);
  lowers.push_back(lookup.lower_name);
  std::vector<std::string> target = engine_->target(placed, views, lowers);
  uint8_t root = root_index(engine_->target_root(placed));
  out.state.placed = placed;
  if (target.empty()) {  // the target root itself
    out.dirfd = roots_[root].get();
    out.name = ".";
    out.anchor = Anchor{root, "."};
    return 0;
  }
  std::string parent;
  for (size_t i = 0; i + 1 < target.size(); ++i) parent += (i ? "/" : "") + target[i];
  out.dirfd = roots_[root].get();
  if (!parent.empty()) {
    int fd = open_beneath(roots_[root].get(), parent.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) return -fd;
    out.holder.reset(fd);
    out.dirfd = fd;
  }
  out.name = lookup.folded ? stored_name(out.dirfd, target.back()) : target.back();
  out.anchor = Anchor{root, parent.empty() ? out.name : parent + "/" + out.name};
  return aliases_ && !engine_->trivial() ? refuse_alias(root, out.dirfd, out.name, type) : 0;
}

// A lower directory that resolves other bytes to a stored name would let
// "SECRET" reach what `hide "/secret"` hides: there, the view is exact
// and a name reaches an entry only spelled as stored (a scan of the
// directory). A spelling that would reach another is absent (ENOENT), and
// making it is refused (EACCES) as making a hidden name is.
int FsState::refuse_alias(uint8_t root, int dirfd, const std::string& name, uint8_t type) {
  struct stat st {};
  if (!root_aliases_[root] || ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return 0;
  }
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    // Unverifiable: a directory the caller may not list reaches nothing,
    // but a lower that fails (its FUSE server gone: ENOTCONN; out of
    // descriptors) says so, rather than show an existing name as absent
    // (which a caller may then make again).
    if (err != EACCES && err != EPERM) return err;
    return type == 0 ? ENOENT : EACCES;
  }
  bool stored = false;
  while (const dirent* e = ::readdir(d)) {
    if (name == e->d_name) {
      stored = true;
      break;
    }
  }
  ::closedir(d);
  if (stored) return 0;
  return type == 0 ? ENOENT : EACCES;
}

int FsState::locate(Inode* dir, std::string_view view, const Engine::Lookup& lookup, uint8_t type,
                    Place& out) {
  if (engine_->trivial() || !engine_->names_typed(lookup.node)) {
    return locate_named(dir, view, lookup, type, out);
  }
  // Name maps filtered on types: the lower name for the type made, or,
  // to find what is there, each lower name the view name may have,
  // counting an object only where its own type puts it.
  Engine::Lookup named = lookup;
  if (type != 0) {
    named.lower_name = engine_->lower_name(lookup.node, view, type);
    return locate_named(dir, view, named, type, out);
  }
  for (auto& [lower, types] : engine_->lower_names(lookup.node, view)) {
    named.lower_name = std::move(lower);
    Place p;
    struct stat st {};
    if (locate_named(dir, view, named, 0, p) != 0) continue;
    if (::fstatat(p.dirfd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!(types & type_bit(st.st_mode))) continue;
    out = std::move(p);
    return 0;
  }
  return ENOENT;
}

int FsState::locate_named(Inode* dir, std::string_view view, const Engine::Lookup& lookup,
                          uint8_t type, Place& out) {
  if (!engine_->places()) return place_at(dir, view, lookup, 0, type, out);
  if (type != 0) {
    return place_at(dir, view, lookup, engine_->placement(lookup.node, type), type, out);
  }
  std::vector<uint32_t> candidates = engine_->placements(lookup.node);
  if (candidates.size() == 1) return place_at(dir, view, lookup, candidates[0], 0, out);
  for (uint32_t placed : candidates) {
    Place p;
    struct stat st {};
    if (place_at(dir, view, lookup, placed, 0, p) != 0) continue;
    if (::fstatat(p.dirfd, p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (engine_->placement(lookup.node, type_bit(st.st_mode)) != placed) continue;
    out = std::move(p);
    return 0;
  }
  return ENOENT;
}

int FsState::locate(Inode* dir, const char* view, uint8_t type, const Call& call, Place& out) {
  return locate(dir, view, engine_->lookup(dir->state, view, caller_of(call)), type, out);
}

uint8_t FsState::view_type(Inode* dir, std::string_view view, const Engine::Lookup& lookup) {
  Place place;
  struct stat st {};
  if (locate(dir, view, lookup, 0, place) != 0) return 0;
  if (::fstatat(place.dirfd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  return type_bit(st.st_mode);
}

uint8_t FsState::root_of(Inode* inode) {
  if (!engine_->places() || inode == inodes_->root()) return 0;
  std::string path;
  uint8_t root = 0;
  inodes_->path_of(inode, path, root);
  return root;
}

namespace {

// The names in the directory `fd` (without "." and ".."), appended.
void list_names(int fd, std::vector<std::string>& out) {
  int copy = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return;
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    return;
  }
  while (const dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      out.emplace_back(e->d_name);
  }
  ::closedir(d);
}

unsigned char dirent_type(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return DT_DIR;
    case S_IFLNK:
      return DT_LNK;
    case S_IFIFO:
      return DT_FIFO;
    case S_IFSOCK:
      return DT_SOCK;
    case S_IFCHR:
      return DT_CHR;
    case S_IFBLK:
      return DT_BLK;
    default:
      return DT_REG;
  }
}

}  // namespace

int FsState::merge_listing(DirHandle* dh, const Call& call) {
  Inode* dir = dh->inode;
  std::vector<std::string> views, lowers;
  if (!path_names(dir, views, lowers)) return ENOENT;
  // Candidates: the directory's own names, then what redirects bring.
  std::vector<std::string> names = {".", ".."};
  list_names(dh->fd.get(), names);
  for (const Engine::Feed& feed : engine_->feeds(dir->state, views, lowers)) {
    if (!feed.name.empty()) {
      names.push_back(feed.name);
      continue;
    }
    std::string path;
    for (const std::string& c : feed.dir) path += (path.empty() ? "" : "/") + c;
    const UniqueFd& root = roots_[root_index(engine_->target_root(feed.placed))];
    int fd = path.empty()
                 ? ::dup(root.get())
                 : open_beneath(root.get(), path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) continue;  // nothing there: it brings nothing
    UniqueFd holder(fd);
    list_names(fd, names);
  }
  // Each name once, placed as a lookup places it.
  Caller caller = caller_of(call);
  std::vector<std::string> seen;
  for (const std::string& lower : names) {
    if (std::find(seen.begin(), seen.end(), lower) != seen.end()) continue;
    seen.push_back(lower);
    struct stat st {};
    std::string shown = lower;
    if (lower != "." && lower != "..") {
      std::string view;
      bool unnamed = false;
      engine_->dirent(dir->state, lower, syntax::kTypeFile, caller, view, &unnamed);
      if (unnamed) continue;
      Engine::Lookup l = engine_->lookup(dir->state, view, caller);
      Place place;
      if (locate(dir, view, l, 0, place) != 0 || place.link != lower) continue;
      if (::fstatat(place.dirfd, place.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      shown = place.link;
    } else if (::fstat(dh->fd.get(), &st) != 0) {  // readdir(3) skips inode 0
      return errno;
    }
    size_t reclen = (19 + shown.size() + 1 + 7) & ~size_t{7};
    size_t at = dh->buf.size();
    dh->starts.push_back(at);
    dh->buf.resize(at + reclen, 0);
    char* rec = dh->buf.data() + at;
    uint64_t ino = st.st_ino;
    int64_t off = static_cast<int64_t>(dh->starts.size());
    auto len = static_cast<unsigned short>(reclen);
    std::memcpy(rec, &ino, 8);
    std::memcpy(rec + 8, &off, 8);
    std::memcpy(rec + 16, &len, 2);
    rec[18] = static_cast<char>(dirent_type(st.st_mode));
    std::memcpy(rec + 19, shown.data(), shown.size());
  }
  dh->merged = true;
  dh->pos = 0;
  dh->end = dh->buf.size();
  dh->eof = true;
  return 0;
}

}  // namespace fspol::runtime
