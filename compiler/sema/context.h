#pragma once
// What every semantic pass needs: the sources, the diagnostics sink, where
// to find modules, and the id name tables.

#include <string>
#include <vector>

#include "fspol/diagnostics.h"
#include "sema/ids.h"

namespace fspol::sema {

struct SemaContext {
  SourceManager& sources;
  Diagnostics& diags;
  // `import a.b` looks for a/b.fspol in these directories, in order: the
  // -I directories, then the stdlib.
  std::vector<std::string> import_dirs;
  IdTables ids;
  // The last import directory is the stdlib (named "<stdlib>" in output).
  bool last_dir_is_stdlib = false;
};

}  // namespace fspol::sema
