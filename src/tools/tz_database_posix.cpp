// tools/tz_database_posix.cpp — get_time's database on POSIX: the OS's, which date/tz (USE_OS_TZDB) finds itself.
#include "tools/tz_database.h"

namespace llmdesk::tools {

Status PrepareTimeZoneDatabase() { return Status::Ok(); }

std::string TimeZoneDatabaseName() { return "/usr/share/zoneinfo (Debian's tzdata package)"; }

}  // namespace llmdesk::tools
