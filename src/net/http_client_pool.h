// net/http_client_pool.h — private to net (and its tests): what an HttpClient keeps open between requests.
// After a burst of N concurrent requests a client keeps min(N, kMaxIdleTransfers) transfer handles for
// reuse (libcurl multi handles; http_client.cpp), for its lifetime. Each holds its wakeup socket pair
// (curl_multi_wakeup: 2 sockets) and at most one keep-alive connection (CURLMOPT_MAXCONNECTS = 1: a handle
// runs one transfer at a time, so it could reuse no more). That is the whole of what an idle client holds:
// the load tests check a process comes back to its baseline within this bound.
#pragma once

#include <cstddef>

namespace llmdesk::net {

inline constexpr size_t kMaxIdleTransfers = 16;
inline constexpr size_t kMaxSocketsPerIdleTransfer = 3;  // the wakeup pair and one cached connection

}  // namespace llmdesk::net
