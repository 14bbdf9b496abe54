// tools/tz_database.h — internal to src/tools: where get_time's IANA time zone database is, per platform.
//
// get_time (time.cpp) is one implementation on howardhinnant date/tz; only the database's location differs:
//   POSIX: the OS's compiled database, /usr/share/zoneinfo (Debian's tzdata; date/tz built with USE_OS_TZDB finds
//          it itself). Nothing to prepare.
//   Win32: the text database in the folder `tzdata` beside llmdesk.exe (shipped in the zip; the win64 build
//          copies it there from Debian's tzdata source package), handed to date/tz with date::set_install.
// Thread-safe: any tool call may ask; the location is worked out and handed to date/tz once per process,
// before date/tz first loads its database. Never throws.
#pragma once

#include <string>

#include "common/status.h"

namespace llmdesk::tools {

// Ok when date/tz can be asked (date::get_tzdb() may still fail on a damaged database: catch that). Otherwise
// FailedPrecondition whose message names the folder expected and what to do — a get_time tool error as it is.
Status PrepareTimeZoneDatabase();

// The database in words for error messages: "/usr/share/zoneinfo" or "the tzdata folder beside llmdesk.exe (...)".
std::string TimeZoneDatabaseName();

}  // namespace llmdesk::tools
