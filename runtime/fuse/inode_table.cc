#include "fuse/inode_table.h"

#include <linux/fuse.h>

#include <algorithm>
#include <array>
#include <unordered_set>

namespace fspol::runtime {

InodeTable::InodeTable(const struct stat& root) {
  root_.dev = root.st_dev;
  root_.ino = root.st_ino;
  root_.type = S_IFDIR;
  root_.nlookup = 1;  // the kernel never forgets the root
}

InodeTable::~InodeTable() {
  for (auto& [key, first] : map_) {
    for (Inode* inode = first; inode != nullptr;) {
      Inode* next = inode->next_view;
      if (inode != &root_) delete inode;
      inode = next;
    }
  }
  for (Inode* inode : orphans_) delete inode;
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

size_t InodeTable::views_named(dev_t dev, ino_t ino, Inode* parent, const std::string& name,
                               std::array<Inode*, kMaxViews>& out) {
  size_t n = 0;
  auto it = map_.find(Key{dev, ino});
  for (Inode* v = it == map_.end() ? nullptr : it->second; v != nullptr && n < out.size();
       v = v->next_view) {
    for (const Link& l : v->links) {
      if (l.parent == parent && l.name == name) {
        out[n++] = v;
        break;
      }
    }
  }
  return n;
}

void InodeTable::unchain(Inode* inode) {
  if (!inode->in_map) {
    orphans_.erase(std::find(orphans_.begin(), orphans_.end(), inode));
    return;
  }
  auto it = map_.find(Key{inode->dev, inode->ino});
  if (it == map_.end()) return;
  if (it->second == inode) {
    if (inode->next_view != nullptr) {
      it->second = inode->next_view;
    } else {
      map_.erase(it);
    }
    return;
  }
  for (Inode* v = it->second; v->next_view != nullptr; v = v->next_view) {
    if (v->next_view == inode) {
      v->next_view = inode->next_view;
      return;
    }
  }
}

void InodeTable::add_link(Inode* inode, Inode* parent, const std::string& name,
                          const std::optional<Anchor>& anchor) {
  for (Link& l : inode->links) {
    if (l.parent == parent && l.name == name) {
      l.anchor = anchor;
      return;
    }
  }
  inode->links.push_back(Link{parent, name, anchor});
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
    unchain(inode);
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
                         const NodeState& state, uint32_t handler,
                         const std::optional<Anchor>& anchor) {
  std::unique_lock lock(mu_);
  if (st.st_dev == root_.dev && st.st_ino == root_.ino) {
    root_.nlookup++;
    return &root_;
  }
  uint32_t type = st.st_mode & S_IFMT;
  Key key{st.st_dev, st.st_ino};
  auto it = map_.find(key);
  if (it != map_.end() && it->second->type != type) {
    // The lower inode number was reused for an object of another type while
    // the kernel still holds the old nodes: give the new object its own.
    for (Inode* v = it->second; v != nullptr; v = v->next_view) {
      v->in_map = false;
      orphans_.push_back(v);
    }
    map_.erase(it);
    it = map_.end();
  }
  Inode* inode = nullptr;
  size_t views = 0;
  for (Inode* v = it == map_.end() ? nullptr : it->second; v != nullptr; v = v->next_view, ++views) {
    if (v->state == state && v->handler == handler) {
      inode = v;
      break;
    }
  }
  if (inode == nullptr) {
    // More views than kMaxViews would escape renames and unlinks; no
    // policy gets there without many names for one object (hard links).
    if (views >= kMaxViews) return nullptr;
    inode = new Inode;
    inode->dev = st.st_dev;
    inode->ino = st.st_ino;
    inode->type = type;
    inode->state = state;
    inode->handler = handler;
    if (it == map_.end()) {
      map_.emplace(key, inode);
    } else {
      inode->next_view = it->second->next_view;
      it->second->next_view = inode;
    }
  }
  add_link(inode, parent, name, anchor);
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
  std::array<Inode*, kMaxViews> views{};
  size_t n = views_named(dev, ino, parent, name, views);
  // Keep each view alive across remove_link (it may hold the last
  // reference to nothing but its parent): it is freed only by maybe_free.
  for (size_t i = 0; i < n; ++i) views[i]->nlookup++;
  for (size_t i = 0; i < n; ++i) remove_link(views[i], parent, name);
  for (size_t i = 0; i < n; ++i) {
    views[i]->nlookup--;
    maybe_free(views[i]);
  }
}

void InodeTable::move_link(Inode* op, const std::string& on, Inode* np, const std::string& nn,
                           dev_t dev, ino_t ino, bool exchange, bool had_target, dev_t xdev,
                           ino_t xino, const std::optional<Anchor>& at_new,
                           const std::optional<Anchor>& at_old) {
  std::unique_lock lock(mu_);
  std::array<Inode*, kMaxViews> moved{};
  std::array<Inode*, kMaxViews> other{};
  size_t moved_n = views_named(dev, ino, op, on, moved);
  // A rename onto a hard link of itself moves nothing else.
  bool same = had_target && xdev == dev && xino == ino;
  size_t other_n = had_target && !same ? views_named(xdev, xino, np, nn, other) : 0;
  // Pin everything we touch so no step frees what a later step uses;
  // then unpin one at a time, each freed while the later ones hold.
  std::array<Inode*, 2 * kMaxViews + 2> pins{};
  size_t pinned = 0;
  for (size_t i = 0; i < moved_n; ++i) pins[pinned++] = moved[i];
  for (size_t i = 0; i < other_n; ++i) pins[pinned++] = other[i];
  pins[pinned++] = op;
  pins[pinned++] = np;
  for (size_t i = 0; i < pinned; ++i) pins[i]->nlookup++;
  for (size_t i = 0; i < moved_n; ++i) {
    remove_link(moved[i], op, on);
    add_link(moved[i], np, nn, at_new);
  }
  for (size_t i = 0; i < other_n; ++i) {
    // Exchange: the target moved to the source name. Plain rename: the
    // object the target name held is no longer reachable by it.
    remove_link(other[i], np, nn);
    if (exchange) add_link(other[i], op, on, at_old);
  }
  for (size_t i = 0; i < pinned; ++i) {
    pins[i]->nlookup--;
    maybe_free(pins[i]);
  }
}

bool InodeTable::append_path(Inode* inode, std::string& out, uint8_t& root) {
  // Collect names from the inode up to the root (or an anchored link),
  // then write them in order.
  std::array<const std::string*, 64> small{};
  std::vector<const std::string*> names;
  size_t count = 0;
  root = 0;
  const Anchor* anchor = nullptr;
  for (Inode* cur = inode; cur != &root_;) {
    if (cur->links.empty()) return false;
    const Link& l = cur->links.front();
    if (l.anchor) {
      anchor = &*l.anchor;
      root = anchor->root;
      break;
    }
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
  if (anchor != nullptr && (anchor->path != "." || count == 0)) {
    out += anchor->path;
    if (count != 0) out += '/';
  }
  if (count == 0) {
    if (anchor == nullptr) out += '.';
    return true;
  }
  for (size_t i = count; i-- > 0;) {
    out += *(count <= small.size() ? small[i] : names[i]);
    if (i != 0) out += '/';
  }
  return true;
}

bool InodeTable::path_of(Inode* inode, std::string& out, uint8_t& root) {
  std::shared_lock lock(mu_);
  out.clear();
  return append_path(inode, out, root);
}

bool InodeTable::links_of(Inode* inode, std::vector<Link>& out) {
  std::shared_lock lock(mu_);
  out.clear();
  for (Inode* cur = inode; cur != &root_; cur = cur->links.front().parent) {
    if (cur->links.empty() || out.size() > 4096) return false;
    out.push_back(cur->links.front());
  }
  std::reverse(out.begin(), out.end());
  return true;
}

bool InodeTable::view_path(
    Inode* inode, const std::function<std::string(const Inode*, const std::string&)>& view_name,
    std::string& out) {
  std::shared_lock lock(mu_);
  std::vector<std::string> names;
  for (Inode* cur = inode; cur != &root_; cur = cur->links.front().parent) {
    if (cur->links.empty() || names.size() > 4096) return false;
    names.push_back(view_name(cur, cur->links.front().name));
  }
  out = names.empty() ? "/" : "";
  for (size_t i = names.size(); i-- > 0;) out += "/" + names[i];
  return true;
}

bool InodeTable::parent_and_name(Inode* inode, std::string& parent, std::string& name,
                                 uint8_t& root) {
  std::shared_lock lock(mu_);
  parent.clear();
  root = 0;
  if (inode == &root_) {
    parent = ".";
    name = ".";
    return true;
  }
  if (inode->links.empty()) return false;
  const Link& l = inode->links.front();
  if (l.anchor) {
    // A redirect's target: its lower parent is in the target's root.
    root = l.anchor->root;
    size_t slash = l.anchor->path.rfind('/');
    parent = slash == std::string::npos ? "." : l.anchor->path.substr(0, slash);
    name = slash == std::string::npos ? l.anchor->path : l.anchor->path.substr(slash + 1);
    return true;
  }
  name = l.name;
  return append_path(l.parent, parent, root);
}

void InodeTable::each_parent_first(const std::function<void(Inode*)>& fn) {
  std::unique_lock lock(mu_);
  std::unordered_set<const Inode*> done = {&root_};
  fn(&root_);
  std::vector<Inode*> chain;
  std::vector<Inode*> all = orphans_;
  for (auto& [key, first] : map_) {
    for (Inode* view = first; view != nullptr; view = view->next_view) all.push_back(view);
  }
  {
    for (Inode* view : all) {
      chain.clear();
      for (Inode* cur = view; cur != nullptr && !done.count(cur);
           cur = cur->links.empty() ? nullptr : cur->links.front().parent) {
        chain.push_back(cur);
      }
      for (size_t i = chain.size(); i-- > 0;) {
        fn(chain[i]);
        done.insert(chain[i]);
      }
    }
  }
}

size_t InodeTable::size() {
  std::shared_lock lock(mu_);
  return map_.size();
}

}  // namespace fspol::runtime
