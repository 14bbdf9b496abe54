// apps/gui/background.h — runs blocking work (files, /proc) off the UI thread and hands the result back to it.
// `done` runs on the thread of `context` (the UI thread) through its event loop, and not at all when `context`
// was deleted meanwhile.
#pragma once

#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <functional>
#include <memory>
#include <utility>

namespace llmdesk::gui {

template <typename T>
void RunInBackground(QObject* context, std::function<T()> work, std::function<void(T)> done) {
  QPointer<QObject> guard(context);
  QThreadPool::globalInstance()->start([guard, work = std::move(work), done = std::move(done)]() mutable {
    auto result = std::make_shared<T>(work());
    if (!guard) return;
    QMetaObject::invokeMethod(
        guard.data(), [result, done = std::move(done)] { done(std::move(*result)); }, Qt::QueuedConnection);
  });
}

}  // namespace llmdesk::gui
