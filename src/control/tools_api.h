// control/tools_api.h — private to src/control: the /api/tools routes (tools_api.cpp), for front ends that list
// the MCP tools and let a person try one (the desktop app's Tools tab).
#pragma once

namespace llmdesk::net {
class HttpServer;
}
namespace llmdesk::chat {
class ToolHost;
}

namespace llmdesk::control {

void RegisterToolRoutes(net::HttpServer& server, chat::ToolHost& tools);

}  // namespace llmdesk::control
