#pragma once
// redact_secrets: the handler of examples/redact.fspol. Serves a log with
// credentials, tokens and e-mail addresses replaced (docs/runtime.md
// lists the patterns); a gzip file is decompressed, redacted and
// compressed again.

#include <memory>

#include "fspol/runtime/handler.h"

namespace fspol::runtime {

std::shared_ptr<const Handler> make_redact_secrets();

}  // namespace fspol::runtime
