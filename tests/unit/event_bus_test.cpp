// common/event_bus.h: EventBus (subscribe, replay, cancel while delivering) and the bounded queues.
#include "common/event_bus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace llmdesk {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

TEST(EventBus, DeliversInOrderToEverySubscriberUntilCancelled) {
  EventBus<int> bus;
  std::vector<int> a, b;
  auto sa = bus.Subscribe([&](const int& e) { a.push_back(e); });
  auto sb = bus.Subscribe([&](const int& e) { b.push_back(e); });
  bus.Publish(1);
  bus.Publish(2);
  sb = Subscription();
  bus.Publish(3);
  EXPECT_THAT(a, ElementsAre(1, 2, 3));
  EXPECT_THAT(b, ElementsAre(1, 2));
  EXPECT_EQ(bus.subscriber_count(), 1u);
}

TEST(EventBus, ReplayComesFirstThenLiveEventsWithNothingLost) {
  EventBus<int> bus;
  std::vector<int> got;
  auto sub = bus.Subscribe([&](const int& e) { got.push_back(e); }, [] { return std::vector<int>{10, 11}; });
  bus.Publish(1);  // pending until the owner delivers the replay: not delivered
  bus.DeliverPending();
  bus.Publish(2);
  bus.DeliverPending();  // nothing pending any more: no second replay
  EXPECT_THAT(got, ElementsAre(10, 11, 2));
}

TEST(EventBus, ASubscriberMayCancelItselfAndOthersFromItsCallback) {
  EventBus<int> bus;
  std::vector<int> a, b;
  Subscription sa, sb;
  sa = bus.Subscribe([&](const int& e) {
    a.push_back(e);
    sa = Subscription();  // itself: must not deadlock
    sb = Subscription();  // another, before it got this event: it must not get it
  });
  sb = bus.Subscribe([&](const int& e) { b.push_back(e); });
  bus.Publish(1);
  bus.Publish(2);
  EXPECT_THAT(a, ElementsAre(1));
  EXPECT_TRUE(b.empty());
}

TEST(EventBus, CancelWaitsForADeliveryInProgress) {
  EventBus<int> bus;
  std::atomic<bool> in_callback{false}, finished{false};
  auto sub = std::make_unique<Subscription>(bus.Subscribe([&](const int&) {
    in_callback = true;
    std::this_thread::sleep_for(100ms);  // a slow subscriber (the test's stand-in for work)
    finished = true;
  }));
  std::thread owner([&] { bus.Publish(1); });
  while (!in_callback) std::this_thread::yield();
  sub.reset();  // must block until the callback has returned
  EXPECT_TRUE(finished);
  owner.join();
}

TEST(EventBus, AThrowingSubscriberDoesNotStopTheOthers) {
  EventBus<int> bus;
  int got = 0;
  auto s1 = bus.Subscribe([](const int&) { throw std::runtime_error("boom"); });
  auto s2 = bus.Subscribe([&](const int& e) { got = e; });
  bus.Publish(7);
  EXPECT_EQ(got, 7);
}

TEST(EventBus, SubscriptionsOutliveTheBus) {
  Subscription sub;
  {
    EventBus<int> bus;
    sub = bus.Subscribe([](const int&) {});
  }
  sub = Subscription();  // no crash
}

TEST(BoundedQueue, NeverBlocksThePusherAndCountsDrops) {
  BoundedQueue<int> q(3);
  for (int k = 0; k < 5; ++k) q.Push(k);
  std::vector<int> out;
  uint64_t dropped = 0;
  EXPECT_TRUE(q.PopAll(out, dropped, 0ms));
  EXPECT_THAT(out, ElementsAre(0, 1, 2));
  EXPECT_EQ(dropped, 2u);
  out.clear();
  EXPECT_TRUE(q.PopAll(out, dropped, 10ms));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(dropped, 0u);  // counted once
}

TEST(BoundedQueue, PopWaitsForAPushFromAnotherThreadAndCloseEndsIt) {
  BoundedQueue<int> q(8);
  std::thread pusher([&] { q.Push(42); });
  std::vector<int> out;
  uint64_t dropped = 0;
  for (int k = 0; k < 100 && out.empty(); ++k) q.PopAll(out, dropped, 1000ms);
  pusher.join();
  EXPECT_THAT(out, ElementsAre(42));
  q.Push(1);
  q.Close();
  EXPECT_FALSE(q.Push(2));
  out.clear();
  EXPECT_FALSE(q.PopAll(out, dropped, 1000ms));
  EXPECT_THAT(out, ElementsAre(1));  // queued before Close: still handed out
}

TEST(EventQueue, OverflowBecomesOneDroppedFrameAfterTheKeptOnes) {
  EventQueue q(2);
  q.Push("a");
  q.Push("b");
  q.Push("c");
  q.Push("d");
  std::vector<std::string> out;
  EXPECT_TRUE(q.PopAll(out, 0ms));
  EXPECT_THAT(out, ElementsAre("a", "b", "event: dropped\ndata: {\"dropped\":2}\n\n"));
  out.clear();
  q.Push("e");
  EXPECT_TRUE(q.PopAll(out, 0ms));
  EXPECT_THAT(out, ElementsAre("e"));
  q.Close();
  EXPECT_FALSE(q.PopAll(out, 0ms));
}

}  // namespace
}  // namespace llmdesk
