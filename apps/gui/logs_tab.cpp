// apps/gui/logs_tab.cpp — see logs_tab.h.
#include "logs_tab.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

#include "json_fields.h"

namespace llmdesk::gui {

namespace {
constexpr int kTailLines = 500;
constexpr int kMaxLines = 20000;  // the view keeps the newest lines only
}  // namespace

LogsTab::LogsTab(ControlApi& api, QWidget* parent) : QWidget(parent), api_(api) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  backend_ = new QComboBox;
  backend_->setObjectName("logBackend");
  backend_->setMinimumWidth(160);
  search_ = new QLineEdit;
  search_->setObjectName("logSearch");
  search_->setPlaceholderText("Search the log (Enter: next match)");
  search_->setClearButtonEnabled(true);
  auto* find = new QPushButton("Find");
  auto* copy = new QPushButton("Copy all");
  copy->setObjectName("logCopy");
  top->addWidget(new QLabel("Backend:"));
  top->addWidget(backend_);
  top->addSpacing(12);
  top->addWidget(search_, 1);
  top->addWidget(find);
  top->addWidget(copy);
  layout->addLayout(top);
  text_ = new QPlainTextEdit;
  text_->setObjectName("logText");
  text_->setReadOnly(true);
  text_->setMaximumBlockCount(kMaxLines);
  text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  text_->setLineWrapMode(QPlainTextEdit::NoWrap);
  layout->addWidget(text_, 1);
  status_ = new QLabel;
  status_->setObjectName("logStatus");
  layout->addWidget(status_);

  connect(backend_, &QComboBox::currentTextChanged, this, [this](const QString& name) { Follow(name); });
  connect(search_, &QLineEdit::returnPressed, this, [this] { FindNext(); });
  connect(find, &QPushButton::clicked, this, [this] { FindNext(); });
  connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(text_->toPlainText()); });
}

void LogsTab::SetBackends(const QStringList& names) {
  backend_->clear();
  backend_->addItems(names);  // selects the first: Follow
}

void LogsTab::Follow(const QString& name) {
  if (stream_) stream_->deleteLater();
  text_->clear();
  if (name.isEmpty()) return;
  status_->setText("Following " + name + "…");
  stream_ = api_.Stream(
      QString("/api/backends/%1/logs?follow=1&lines=%2").arg(QString(QUrl::toPercentEncoding(name))).arg(kTailLines),
      nullptr,
      [this](const std::string& event, const Json& data) {
        if (event == "log") text_->appendPlainText(JStr(data, "line"));
      },
      [this, name](Status s) {
        status_->setText(s.ok() ? "The log stream of " + name + " ended"
                                : "Cannot follow " + name + ": " + QString::fromStdString(s.message()));
      },
      this);
}

bool LogsTab::FindNext() {
  const QString needle = search_->text();
  if (needle.isEmpty()) return false;
  if (text_->find(needle)) return true;
  text_->moveCursor(QTextCursor::Start);  // wrap around
  const bool found = text_->find(needle);
  status_->setText(found ? QString() : QString("'%1' is not in this log").arg(needle));
  return found;
}

}  // namespace llmdesk::gui
