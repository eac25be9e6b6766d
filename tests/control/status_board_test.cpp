// The status board: what the host writes is what a reader reads, a reader
// never sees a torn record, the segment is owner-only, and readers that are
// killed mid-read never hold up the writer.
#include <graft/host_directory.hpp>
#include <graft/status_board.hpp>

#include "control/status_board_writer.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

namespace graft {
namespace {

std::string unique_name(const std::string& what) {
  return "graft-test-" + what + "." + std::to_string(::getpid()) + "." +
         std::to_string(std::random_device{}());
}

BoardSnapshot consistent_snapshot(std::uint64_t k) {
  // Every field derives from k: a torn read mixes two k's and is caught.
  BoardSnapshot s;
  s.pid = static_cast<int>(k % 100000) + 1;
  s.name = "host-" + std::to_string(k);
  s.refreshes = k;
  s.auto_install = k % 2 == 0;
  for (int i = 0; i < 3; ++i) {
    BoardComponent c;
    c.name = "component-" + std::to_string(i);
    c.version = std::to_string(k) + ".0.0";
    c.previous_version = std::to_string(k + 1) + ".0.0";
    c.state = k % 2 == 0 ? "serving" : "probation";
    c.calls = k * 3;
    c.errors = k;
    c.in_flight = k % 7;
    c.last_event = "event " + std::to_string(k) + std::string(100, 'x');
    s.components.push_back(c);
  }
  s.pending.push_back({"bundle-" + std::to_string(k), "greeter", std::to_string(k), "/p"});
  return s;
}

bool is_consistent(const BoardSnapshot& s, std::uint64_t* k_out) {
  const std::uint64_t k = s.refreshes;
  *k_out = k;
  if (s.name != "host-" + std::to_string(k) || s.auto_install != (k % 2 == 0)) return false;
  for (const auto& c : s.components) {
    if (c.version != std::to_string(k) + ".0.0" || c.calls != k * 3 || c.errors != k ||
        c.last_event != "event " + std::to_string(k) + std::string(100, 'x')) {
      // Components are separate records: each is consistent in itself,
      // possibly from a later k than the host record.
      const std::uint64_t ck = c.errors;
      if (c.version != std::to_string(ck) + ".0.0" || c.calls != ck * 3 ||
          c.last_event != "event " + std::to_string(ck) + std::string(100, 'x')) {
        return false;
      }
    }
  }
  return true;
}

TEST(StatusBoard, ReaderSeesWhatTheHostWrote) {
  const std::string name = unique_name("board");
  control::StatusBoardWriter writer(name);
  BoardSnapshot s = consistent_snapshot(7);
  s.started = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  s.has_inbox = true;
  s.components[1].probation_left = std::chrono::milliseconds(4500);
  writer.publish(s);
  std::string error;
  const auto read = read_status_board(name, &error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->pid, s.pid);
  EXPECT_EQ(read->name, s.name);
  EXPECT_EQ(read->started, s.started);
  EXPECT_TRUE(read->has_inbox);
  EXPECT_FALSE(read->auto_install);
  ASSERT_EQ(read->components.size(), 3u);
  EXPECT_EQ(read->components[1].version, "7.0.0");
  EXPECT_EQ(read->components[1].previous_version, "8.0.0");
  EXPECT_EQ(read->components[1].calls, 21u);
  EXPECT_EQ(read->components[1].probation_left.count(), 4500);
  ASSERT_EQ(read->pending.size(), 1u);
  EXPECT_EQ(read->pending[0].bundle, "bundle-7");
}

TEST(StatusBoard, IsOwnerOnlyAndGoneWithItsWriter) {
  const std::string name = unique_name("mode");
  {
    control::StatusBoardWriter writer(name);
    struct stat st {};
    ASSERT_EQ(::stat(("/dev/shm/" + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
  std::string error;
  EXPECT_FALSE(read_status_board(name, &error));
  EXPECT_FALSE(error.empty());
}

TEST(StatusBoard, ReadersNeverSeeATornRecord) {
  const std::string name = unique_name("torn");
  control::StatusBoardWriter writer(name);
  writer.publish(consistent_snapshot(0));
  std::atomic<bool> stop{false};
  std::thread host([&] {
    for (std::uint64_t k = 1; !stop.load(); ++k)
      writer.publish(consistent_snapshot(k));
  });
  std::uint64_t reads = 0, last_k = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  while (std::chrono::steady_clock::now() < until) {
    std::string error;
    const auto s = read_status_board(name, &error);
    ASSERT_TRUE(s) << error;
    std::uint64_t k = 0;
    ASSERT_TRUE(is_consistent(*s, &k)) << "torn read at refresh " << k;
    EXPECT_GE(k, last_k);
    last_k = k;
    ++reads;
  }
  stop = true;
  host.join();
  EXPECT_GT(reads, 100u);
  EXPECT_GT(last_k, 0u);
}

TEST(StatusBoard, ReadersKilledAtRandomMomentsNeverBlockTheHost) {
  const std::string name = unique_name("kill");
  control::StatusBoardWriter writer(name);
  writer.publish(consistent_snapshot(0));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> published{0};
  std::thread host([&] {
    for (std::uint64_t k = 1; !stop.load(); ++k) {
      writer.publish(consistent_snapshot(k));
      published.store(k);
    }
  });
  std::mt19937 rng(std::random_device{}());
  constexpr int kKills = 60;
  for (int i = 0; i < kKills; ++i) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // A reader that reads for ever (only async-signal-safe work would be
      // strictly allowed after fork; the reader allocates, as graftctl does
      // in a process of its own).
      for (;;)
        (void)read_status_board(name);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 5000));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    // The host keeps publishing after every kill.
    const std::uint64_t before = published.load();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (published.load() < before + 10 && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
    ASSERT_GE(published.load(), before + 10) << "the host stalled after reader kill " << i;
  }
  stop = true;
  host.join();
  std::uint64_t k = 0;
  const auto s = read_status_board(name);
  ASSERT_TRUE(s);
  EXPECT_TRUE(is_consistent(*s, &k));
}

}  // namespace
}  // namespace graft
