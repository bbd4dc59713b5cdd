// HandlerRegistry (fspol/runtime/handler.h).
#include "fspol/runtime/handler.h"
#include "handlers/redact_secrets.h"

namespace fspol::runtime {

HandlerRegistry HandlerRegistry::builtin() {
  HandlerRegistry registry;
  registry.add("redact_secrets", make_redact_secrets());
  return registry;
}

void HandlerRegistry::add(std::string name, std::shared_ptr<const Handler> handler) {
  handlers_[std::move(name)] = std::move(handler);
}

std::shared_ptr<const Handler> HandlerRegistry::find(std::string_view name) const {
  auto it = handlers_.find(name);
  return it == handlers_.end() ? nullptr : it->second;
}

}  // namespace fspol::runtime
