#pragma once
// The consumer example's own userspace handler: what a file holds, in
// capitals.

#include <memory>

#include "fspol/runtime/handler.h"

std::shared_ptr<const fspol::runtime::Handler> make_shout();
