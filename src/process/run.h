// process/run.h — kept for existing includes; the process component's contract is process/process.h.
#pragma once
#include "process/process.h"  // IWYU pragma: export
