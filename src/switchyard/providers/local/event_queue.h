#pragma once
// EventQueue: hands engine events from the engine's thread to one coroutine on an I/O thread
// without blocking either. The engine pushes (never blocks: the queue is unbounded, and bounded
// in practice by max_tokens); the coroutine takes everything queued at once, so tokens produced
// while the client was being written to go out together in one write.
//
// The wake-up is a timer that lives in the waiting coroutine's frame (Waiter) and is cancelled
// through a post to the coroutine's executor: the check for events and the wait happen on that
// executor's single thread, so no wake-up is lost. The queue itself owns no I/O object, so the
// engine thread may drop the last reference to it at any time, even after the I/O context is
// gone; it posts only while a Waiter is attached, i.e. while the coroutine (and so its I/O
// context) is alive, and it posts under the lock that detaching takes.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "switchyard/engine/engine.h"

namespace switchyard::providers::local {

class EventQueue : public std::enable_shared_from_this<EventQueue> {
 public:
  // The coroutine's side: attaches a timer on construction, detaches on destruction.
  class Waiter {
   public:
    Waiter(std::shared_ptr<EventQueue> queue, boost::asio::any_io_executor executor)
        : queue_(std::move(queue)), timer_(executor) {
      std::lock_guard lock(queue_->mu_);
      queue_->executor_ = std::move(executor);
      queue_->timer_ = &timer_;
    }
    ~Waiter() {
      std::lock_guard lock(queue_->mu_);
      queue_->timer_ = nullptr;
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    // Waits until at least one event is queued and moves all of them into `out` (cleared
    // first). False when `deadline` passed first. Cancelling the awaiting coroutine ends the wait
    // with an exception.
    boost::asio::awaitable<bool> next(std::vector<engine::EngineEvent>& out,
                                      std::chrono::steady_clock::time_point deadline) {
      out.clear();
      timer_.expires_at(deadline);
      for (;;) {
        {
          std::lock_guard lock(queue_->mu_);
          if (!queue_->events_.empty()) {
            out.swap(queue_->events_);
            co_return true;
          }
        }
        boost::system::error_code ec;
        co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        // operation_aborted is our own wake-up; a cancelled coroutine is told by its state.
        auto state = co_await boost::asio::this_coro::cancellation_state;
        if (state.cancelled() != boost::asio::cancellation_type::none) {
          throw boost::system::system_error(boost::asio::error::operation_aborted);
        }
        if (!ec) {
          std::lock_guard lock(queue_->mu_);
          if (queue_->events_.empty()) co_return false;
        }
      }
    }

   private:
    std::shared_ptr<EventQueue> queue_;
    boost::asio::steady_timer timer_;  // touched only on the coroutine's thread
  };

  // Engine thread.
  void push(engine::EngineEvent&& event) {
    std::lock_guard lock(mu_);
    const bool wake = events_.empty();
    events_.push_back(std::move(event));
    if (wake && timer_ != nullptr) {
      boost::asio::post(executor_, [self = shared_from_this()] {
        std::lock_guard lock(self->mu_);
        if (self->timer_ != nullptr) self->timer_->cancel();
      });
    }
  }

 private:
  std::mutex mu_;
  std::vector<engine::EngineEvent> events_;
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer* timer_ = nullptr;  // the attached Waiter's; null when none
};

}  // namespace switchyard::providers::local
