#pragma once
// A socket's read/write deadline enforced by one lazily re-armed timer, for connections that
// move their deadline on every request or read (keep-alive client connections, upstream
// connections in the pool). Beast's tcp_stream arms and cancels a timer per operation instead,
// and each cancel completes a handler through the scheduler's queue; here moving the deadline
// later is a store, and the timer is re-armed only when it fires early or the deadline moves
// earlier. On expiry it cancels the socket's pending operations (they complete with
// operation_aborted) and says so in expired().
//
// Thread-safety: used only from the socket's own executor. Held by shared_ptr: its pending
// wait keeps it alive; stop() before the socket goes away.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace switchyard::http {

class Deadline : public std::enable_shared_from_this<Deadline> {
 public:
  using Clock = std::chrono::steady_clock;

  Deadline(const boost::asio::any_io_executor& executor, boost::asio::ip::tcp::socket& socket)
      : timer_(executor), socket_(&socket) {}

  void expiresAfter(std::chrono::milliseconds timeout) {
    expired_ = false;
    deadline_ = Clock::now() + timeout;
    if (deadline_ < armed_) arm(deadline_);
  }
  void expiresNever() {
    expired_ = false;
    deadline_ = Clock::time_point::max();
  }
  // The deadline passed and the socket's operations were cancelled (since the last
  // expiresAfter / expiresNever).
  bool expired() const { return expired_; }
  // The socket is going away: forget it, drop the pending wait.
  void stop() {
    socket_ = nullptr;
    timer_.cancel();
  }

 private:
  void arm(Clock::time_point at) {
    armed_ = at;
    timer_.expires_at(at);
    timer_.async_wait(
        [self = shared_from_this()](const boost::system::error_code& ec) { self->onTimer(ec); });
  }
  void onTimer(const boost::system::error_code& ec) {
    if (ec || socket_ == nullptr) return;  // re-armed or stopped
    armed_ = Clock::time_point::max();
    if (deadline_ == Clock::time_point::max()) return;  // nothing to watch until the next use
    if (Clock::now() < deadline_) {
      arm(deadline_);
      return;
    }
    expired_ = true;
    boost::system::error_code ignored;
    socket_->cancel(ignored);
  }

  boost::asio::steady_timer timer_;
  boost::asio::ip::tcp::socket* socket_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_ = Clock::time_point::max();
  bool expired_ = false;
};

}  // namespace switchyard::http
