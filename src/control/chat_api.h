// control/chat_api.h — private to src/control: the /api/chat and /api/history routes (chat_api.cpp).
#pragma once

#include <memory>

namespace llmdesk::net {
class HttpServer;
}
namespace llmdesk::chat {
class ChatService;
}
namespace llmdesk::store {
class History;
}

namespace llmdesk::control {

struct ChatRuns;  // the running turns, by run id (their cancel tokens and approval questions)
std::shared_ptr<ChatRuns> MakeChatRuns();
void RegisterChatRoutes(net::HttpServer& server, chat::ChatService& service, store::History* history,
                        std::shared_ptr<ChatRuns> runs);

}  // namespace llmdesk::control
