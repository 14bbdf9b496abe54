// common/status.h — errors as values at module boundaries (modelled on LevelDB's Status).
//
// Every public function of a component that can fail returns a Status, or a Result<T> that holds
// either a T or a non-ok Status. Messages are written for the person at the keyboard: what was
// wrong and what to do about it. Exceptions from libraries are caught at the boundary and turned
// into a Status; they never cross a component's public header.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace llmdesk {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,    // bad input: config, request, arguments
    kNotFound,           // file, model, backend, session that does not exist
    kAlreadyExists,      // e.g. another manager already owns this config
    kUnavailable,        // port in use, engine not answering — may work later
    kFailedPrecondition, // asked at the wrong moment (e.g. stop a stopped backend)
    kPermissionDenied,   // privileged port, forbidden origin, bad token
    kTimeout,
    kIoError,
    kCancelled,
    kInternal,
  };

  Status() = default;  // ok
  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ok" or "<code name>: <message>"
  std::string ToString() const;
  static const char* CodeName(Code c);

  bool operator==(const Status&) const = default;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                                  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace llmdesk
