#include "fuse/inode_table.h"

#include <linux/fuse.h>

#include <algorithm>
#include <array>

namespace fspol::runtime {

InodeTable::InodeTable(const struct stat& root) {
  root_.dev = root.st_dev;
  root_.ino = root.st_ino;
  root_.type = S_IFDIR;
  root_.nlookup = 1;  // the kernel never forgets the root
}

InodeTable::~InodeTable() {
  for (auto& [key, inode] : map_) {
    if (inode != &root_) delete inode;
  }
}

uint64_t InodeTable::node_id(Inode* inode) const {
  if (inode == &root_) return FUSE_ROOT_ID;
  return reinterpret_cast<uintptr_t>(inode);
}

Inode* InodeTable::from_node_id(uint64_t id) {
  if (id == FUSE_ROOT_ID) return &root_;
  return reinterpret_cast<Inode*>(static_cast<uintptr_t>(id));
}

std::mutex& InodeTable::open_lock(const Inode* inode) {
  static std::array<std::mutex, 64> stripes;
  return stripes[(reinterpret_cast<uintptr_t>(inode) >> 6) % stripes.size()];
}

Inode* InodeTable::find(dev_t dev, ino_t ino) {
  if (dev == root_.dev && ino == root_.ino) return &root_;
  auto it = map_.find(Key{dev, ino});
  return it == map_.end() ? nullptr : it->second;
}

void InodeTable::add_link(Inode* inode, Inode* parent, const std::string& name) {
  for (const Link& l : inode->links) {
    if (l.parent == parent && l.name == name) return;
  }
  inode->links.push_back(Link{parent, name});
  parent->children++;
}

void InodeTable::remove_link(Inode* inode, Inode* parent, const std::string& name) {
  auto it = std::find_if(inode->links.begin(), inode->links.end(),
                         [&](const Link& l) { return l.parent == parent && l.name == name; });
  if (it == inode->links.end()) return;
  inode->links.erase(it);
  parent->children--;
  maybe_free(parent);
}

void InodeTable::maybe_free(Inode* inode) {
  while (inode != &root_ && inode->nlookup == 0 && inode->children == 0) {
    if (inode->in_map) map_.erase(Key{inode->dev, inode->ino});
    std::vector<Link> links = std::move(inode->links);
    delete inode;
    // Dropping this inode's links may free its parents in turn.
    for (size_t i = 0; i + 1 < links.size(); ++i) {
      links[i].parent->children--;
      maybe_free(links[i].parent);
    }
    if (links.empty()) return;
    inode = links.back().parent;
    inode->children--;
  }
}

Inode* InodeTable::learn(Inode* parent, const std::string& name, const struct stat& st,
                         const NodeState& state) {
  std::unique_lock lock(mu_);
  Inode* inode = find(st.st_dev, st.st_ino);
  uint32_t type = st.st_mode & S_IFMT;
  if (inode != nullptr && inode != &root_ && inode->type != type) {
    // The lower inode number was reused for an object of another type while
    // the kernel still holds the old node: give the new object its own node.
    map_.erase(Key{inode->dev, inode->ino});
    inode->in_map = false;
    inode = nullptr;
  }
  if (inode != nullptr && inode != &root_ && !(inode->state == state)) return nullptr;
  if (inode == nullptr) {
    inode = new Inode;
    inode->dev = st.st_dev;
    inode->ino = st.st_ino;
    inode->type = type;
    inode->state = state;
    map_.emplace(Key{st.st_dev, st.st_ino}, inode);
  }
  if (inode != &root_) add_link(inode, parent, name);
  inode->nlookup++;
  return inode;
}

void InodeTable::forget(Inode* inode, uint64_t n) {
  std::unique_lock lock(mu_);
  if (inode == &root_) return;
  inode->nlookup = inode->nlookup > n ? inode->nlookup - n : 0;
  maybe_free(inode);
}

void InodeTable::drop_link(Inode* parent, const std::string& name, dev_t dev, ino_t ino) {
  std::unique_lock lock(mu_);
  Inode* inode = find(dev, ino);
  if (inode == nullptr || inode == &root_) return;
  // Keep `inode` alive across remove_link (it may hold the last reference
  // to nothing but its parent): it is freed only by maybe_free below.
  inode->nlookup++;
  remove_link(inode, parent, name);
  inode->nlookup--;
  maybe_free(inode);
}

void InodeTable::move_link(Inode* op, const std::string& on, Inode* np, const std::string& nn,
                           dev_t dev, ino_t ino, bool exchange, bool had_target, dev_t xdev,
                           ino_t xino) {
  std::unique_lock lock(mu_);
  Inode* moved = find(dev, ino);
  Inode* other = had_target ? find(xdev, xino) : nullptr;
  if (other == moved) other = nullptr;  // rename onto a hard link of itself
  // Pin everything we touch so no step frees what a later step uses.
  Inode* pins[4] = {moved, other, op, np};
  for (Inode* p : pins) {
    if (p != nullptr) p->nlookup++;
  }
  if (moved != nullptr && moved != &root_) {
    remove_link(moved, op, on);
    add_link(moved, np, nn);
  }
  if (other != nullptr && other != &root_) {
    // Exchange: the target moved to the source name. Plain rename: the
    // object the target name held is no longer reachable by it.
    remove_link(other, np, nn);
    if (exchange) add_link(other, op, on);
  }
  for (Inode* p : pins) {
    if (p != nullptr) {
      p->nlookup--;
      maybe_free(p);
    }
  }
}

bool InodeTable::append_path(Inode* inode, std::string& out) {
  // Collect names from the inode up to the root, then write them in order.
  std::array<const std::string*, 64> small{};
  std::vector<const std::string*> names;
  size_t count = 0;
  for (Inode* cur = inode; cur != &root_;) {
    if (cur->links.empty()) return false;
    const Link& l = cur->links.front();
    if (count < small.size()) {
      small[count] = &l.name;
    } else {
      if (names.empty()) names.assign(small.begin(), small.end());
      names.push_back(&l.name);
    }
    ++count;
    if (count > 4096) return false;  // a cycle would be a bug; refuse, never loop
    cur = l.parent;
  }
  if (count == 0) {
    out += '.';
    return true;
  }
  for (size_t i = count; i-- > 0;) {
    out += *(count <= small.size() ? small[i] : names[i]);
    if (i != 0) out += '/';
  }
  return true;
}

bool InodeTable::path_of(Inode* inode, std::string& out) {
  std::shared_lock lock(mu_);
  out.clear();
  return append_path(inode, out);
}

bool InodeTable::parent_and_name(Inode* inode, std::string& parent, std::string& name) {
  std::shared_lock lock(mu_);
  parent.clear();
  if (inode == &root_) {
    parent = ".";
    name = ".";
    return true;
  }
  if (inode->links.empty()) return false;
  const Link& l = inode->links.front();
  name = l.name;
  return append_path(l.parent, parent);
}

bool InodeTable::child_path(Inode* parent, const std::string& name, std::string& out) {
  std::shared_lock lock(mu_);
  out.clear();
  if (parent != &root_) {
    if (!append_path(parent, out)) return false;
    out += '/';
  }
  out += name;
  return true;
}

size_t InodeTable::size() {
  std::shared_lock lock(mu_);
  return map_.size();
}

}  // namespace fspol::runtime
