// nmqtt_store_child: a publisher with a persistent session store, meant to be SIGKILLed and started again by
// the reliability tests. It publishes message i (payload "<i>:<generation>") on <topic>/q1 at QoS 1 and on
// <topic>/q2 at QoS 2, for i from where the previous run got to up to <count>, with at most <window> of its
// own publishes unfinished, and exits 0 once every request (its own and those restored from the store) has
// completed.
//
// Progress: after both publishes of message i were accepted (so both are in the store), "i\n" is appended to
// <progress> with one write(2). A restart goes on after the last complete line. A kill that lands between the
// publish and that write makes the next run publish i again as a new message (an application-level resend,
// told apart by its generation); the library itself must never deliver one payload twice at QoS 2.
//
// Usage: nmqtt_store_child HOST PORT CLIENT_ID STORE PROGRESS TOPIC COUNT GENERATION WINDOW SYNC(os|every)
// Exit codes: 0 done, 2 bad usage, 3 the store could not be opened, 4 a publish was refused or failed.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>

#include "nmqtt/client.hpp"

namespace {

struct Args {
    std::string host;
    std::uint16_t port = 0;
    std::string client_id;
    std::string store;
    std::string progress;
    std::string topic;
    int count = 0;
    int generation = 0;
    int window = 0;
    nmqtt::SyncPolicy sync = nmqtt::SyncPolicy::every_flush;
};

// The index after the last complete line of the progress file (0 when there is none). A line cut by the kill
// (no newline) does not count.
int resume_point(const std::string& path) {
    std::ifstream in(path);
    const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int last = -1;
    std::size_t start = 0;
    for (auto end = content.find('\n'); end != std::string::npos; end = content.find('\n', start)) {
        last = std::stoi(content.substr(start, end - start));
        start = end + 1;
    }
    return last + 1;
}

class Publisher {
public:
    Publisher(nmqtt::Client& client, const Args& args)
        : client_(client), args_(args), next_(resume_point(args.progress)) {
        progress_fd_ = ::open(args.progress.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
    ~Publisher() {
        if (progress_fd_ >= 0) ::close(progress_fd_);
    }
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    [[nodiscard]] bool failed() const noexcept { return failed_; }
    [[nodiscard]] bool finished() const noexcept { return next_ >= args_.count && client_.pending_requests() == 0; }

    // Publishes until `window` of this run's messages are unfinished or all are out.
    void fill() {
        while (!failed_ && unfinished_ < args_.window && next_ < args_.count) publish(next_++);
    }

private:
    void publish(int i) {
        const std::string payload = std::to_string(i) + ":" + std::to_string(args_.generation);
        for (const int qos : {1, 2}) {
            const std::string topic = args_.topic + "/q" + std::to_string(qos);
            ++unfinished_;
            const bool accepted = client_.publish(topic, payload, qos, false, {}, [this](std::error_code ec, nmqtt::PacketId) {
                --unfinished_;
                if (ec) failed_ = true;
                fill();
            });
            if (!accepted) {
                std::cerr << "publish " << i << " refused: " << client_.last_error().message() << "\n";
                failed_ = true;
                return;
            }
        }
        const std::string line = std::to_string(i) + "\n";
        if (::write(progress_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) failed_ = true;
    }

    nmqtt::Client& client_;
    const Args& args_;
    int next_ = 0;
    int unfinished_ = 0;
    int progress_fd_ = -1;
    bool failed_ = false;
};

bool parse(int argc, char** argv, Args& a) {
    if (argc != 11) return false;
    a.host = argv[1];
    a.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
    a.client_id = argv[3];
    a.store = argv[4];
    a.progress = argv[5];
    a.topic = argv[6];
    a.count = std::stoi(argv[7]);
    a.generation = std::stoi(argv[8]);
    a.window = std::stoi(argv[9]);
    a.sync = std::string(argv[10]) == "os" ? nmqtt::SyncPolicy::os : nmqtt::SyncPolicy::every_flush;
    return a.window > 0;
}

nmqtt::ClientOptions options_of(const Args& a) {
    nmqtt::ClientOptions o;
    o.client_id = a.client_id;
    o.keepalive_seconds = 30;
    o.clean_session = false;
    o.session_store_path = a.store;
    o.session_store_sync = a.sync;
    o.queue_while_offline = true;
    o.reconnect.enabled = true;
    o.reconnect.initial_delay = std::chrono::milliseconds(20);
    o.reconnect.max_delay = std::chrono::milliseconds(200);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    try {
        if (!parse(argc, argv, args)) throw std::invalid_argument("usage");
    } catch (const std::exception&) {
        std::cerr << "usage: nmqtt_store_child HOST PORT CLIENT_ID STORE PROGRESS TOPIC COUNT GENERATION WINDOW "
                     "os|every\n";
        return 2;
    }
    std::unique_ptr<nmqtt::Client> client;
    try {
        client = std::make_unique<nmqtt::Client>(options_of(args));
    } catch (const std::system_error& e) {
        std::cerr << "store: " << e.what() << "\n";
        return 3;
    }
    std::cout << "restored " << client->pending_requests() << std::endl;
    Publisher publisher(*client, args);
    publisher.fill();  // queued while offline, sent after the restored messages
    client->connect(args.host, args.port);
    while (!publisher.finished() && !publisher.failed()) client->run_for(std::chrono::milliseconds(50));
    if (publisher.failed()) return 4;
    client->close();
    client->run_for(std::chrono::milliseconds(2000));
    std::cout << "done" << std::endl;
    return 0;
}
