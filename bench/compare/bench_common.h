/* Shared by the comparison peers (C and C++): one command line, one payload format, one report.
 *
 *   <prog> MODE -h HOST -p PORT -c CLIENTS -n MESSAGES_PER_CLIENT -s PAYLOAD_SIZE -q QOS --inflight N
 *          -t TOPIC [--timeout SECONDS] [--json]
 *
 * MODE pub:  CLIENTS publishers stream MESSAGES_PER_CLIENT messages each, keeping at most N messages
 *            outstanding per publisher (published, not yet completed: written for QoS 0, PUBACK for QoS 1,
 *            PUBCOMP for QoS 2); a subscriber in the same process counts arrivals end to end.
 * MODE rtt:  one client subscribed to its own topic publishes one message at a time and waits for it:
 *            MESSAGES_PER_CLIENT samples of the publish->receive round trip.
 * MODE conn: CLIENTS clients connect and stay idle; connect rate and resident memory per idle client.
 *
 * Payload (PAYLOAD_SIZE >= 16 bytes): send time in ns (CLOCK_MONOTONIC, host byte order), publisher
 * index (u32), sequence number (u32), then zeros. The subscriber derives latency, loss and duplicates. */
#ifndef NMQTT_BENCH_COMPARE_COMMON_H
#define NMQTT_BENCH_COMPARE_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bench_mode { BENCH_PUB, BENCH_RTT, BENCH_CONN, BENCH_SUB };

enum { BENCH_MIN_PAYLOAD = 16 };

struct bench_args {
    enum bench_mode mode;
    const char* host;
    int port;
    long clients;
    long messages;       /* per client (pub) or samples (rtt) */
    long payload;
    int qos;
    long inflight;
    long interval_ms;    /* -I: accepted for emqtt-bench compatibility; the peers only stream (0) */
    const char* topic;   /* may contain %i (client index) */
    double timeout_s;    /* hard bound on the measured phase */
    int json;
    int protocol;        /* -V: 4 (MQTT 3.1.1, default) or 5 (MQTT 5.0) */
};

/* Parses argv; prints usage and returns -1 on error or --help. */
int bench_parse_args(int argc, char** argv, const char* program, struct bench_args* args);

/* Topic of publisher `index` (%i replaced by the index) and the subscriber's filter (%i replaced by +). */
void bench_topic(const struct bench_args* args, long index, char* out, size_t size);
void bench_filter(const struct bench_args* args, char* out, size_t size);

uint64_t bench_now_ns(void);
uint64_t bench_cpu_us(void);   /* user + system time of the process */
long bench_rss_kib(void);      /* VmRSS from /proc/self/status */
void bench_raise_nofile(long wanted);
void bench_sleep_ms(long ms);

/* Writes the timestamp, index and sequence into payload[0..15] (the rest is left as it is). */
void bench_stamp(uint8_t* payload, uint32_t index, uint32_t seq);

/* Arrival bookkeeping. bench_record may be called from one thread at a time (any thread);
 * bench_wait_received from another. */
struct bench_recorder {
    long clients;
    long per_client;
    uint8_t* seen;            /* one bit per expected message */
    uint32_t* latency_us;     /* one per arrival (capacity = expected), saturated */
    uint64_t received;        /* all arrivals, including duplicates and foreign payloads (atomic) */
    uint64_t unique;
    uint64_t duplicated;
    uint64_t foreign;
    uint64_t first_ns;
    uint64_t last_ns;         /* time of the latest arrival (atomic) */
    int waiting;              /* atomic */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

int bench_recorder_init(struct bench_recorder* rec, long clients, long per_client);
void bench_recorder_free(struct bench_recorder* rec);
void bench_record(struct bench_recorder* rec, const void* payload, size_t size);
uint64_t bench_received(struct bench_recorder* rec);
/* Waits until `target` arrivals or the absolute deadline; returns the arrival count. */
uint64_t bench_wait_received(struct bench_recorder* rec, uint64_t target, uint64_t deadline_ns);
/* Waits for all expected arrivals, giving up after `idle_ms` without progress or at the deadline. */
uint64_t bench_wait_all(struct bench_recorder* rec, uint64_t target, long idle_ms, uint64_t deadline_ns);

/* A per-publisher window of outstanding messages, completed from another thread. */
struct bench_window {
    long limit;
    long outstanding;
    uint64_t completed;
    int waiting;
    int aborted;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

void bench_window_init(struct bench_window* w, long limit);
void bench_window_free(struct bench_window* w);
/* Takes a slot, waiting while the window is full; returns -1 at the deadline. */
int bench_window_acquire(struct bench_window* w, uint64_t deadline_ns);
void bench_window_release(struct bench_window* w);
/* Waits until nothing is outstanding; returns -1 at the deadline. */
int bench_window_drain(struct bench_window* w, uint64_t deadline_ns);
/* The connection is gone: current and later waits fail at once. */
void bench_window_abort(struct bench_window* w);

/* A counter another thread waits on (connections established, subscriptions acknowledged...). */
struct bench_counter {
    long value;   /* atomic */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

void bench_counter_init(struct bench_counter* c);
void bench_counter_free(struct bench_counter* c);
void bench_counter_add(struct bench_counter* c, long delta);
long bench_counter_get(struct bench_counter* c);
/* Waits until the value reaches `target` or the absolute deadline; returns the value. */
long bench_counter_wait(struct bench_counter* c, long target, uint64_t deadline_ns);

struct bench_result {
    uint64_t sent;
    uint64_t messages;        /* unique arrivals (pub), samples (rtt), connected clients (conn) */
    double seconds;
    uint64_t cpu_us;
    uint64_t lost;
    uint64_t duplicated;
    long rss_before_kib;
    long rss_after_kib;
};

/* Fills messages (unique arrivals), lost (sent - unique) and duplicated from the recorder. */
void bench_fill_arrivals(struct bench_result* result, const struct bench_recorder* rec);
/* A deadline `seconds` from now, in bench_now_ns() time. */
uint64_t bench_deadline(double seconds);

/* sub mode: a subscriber-only process, fed by a publisher in another process (bench/compare/run.sh starts
 * raw_peer with RAW_PUBLISH_ONLY=1 once the subscription stands). bench_sub_ready() says it stands: it creates
 * the file named by $BENCH_READY_FILE, when set. bench_sub_measure() then waits for clients x messages
 * arrivals (3 s without progress or the deadline end it), and reports the process's CPU from the readiness on
 * and the time from the first to the last arrival. */
void bench_sub_ready(void);
void bench_sub_measure(const struct bench_args* args, const char* lib, struct bench_recorder* rec, uint64_t cpu0);

/* Prints the one-line result (JSON with --json) computed from the recorder (may be NULL for conn). */
void bench_report(const struct bench_args* args, const char* lib, const struct bench_result* result,
                  struct bench_recorder* rec);

#ifdef __cplusplus
}
#endif

#endif
