/* Command line, payload stamps, arrival bookkeeping and the report shared by the comparison peers. */
#define _GNU_SOURCE
#include "bench_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void usage(const char* program)
{
    fprintf(stderr,
            "usage: %s pub|rtt|conn [-h host] [-p port] [-c clients] [-n messages] [-s payload] [-q qos]\n"
            "          [--inflight n] [-t topic(%%i = client index)] [-I interval_ms] [--timeout s] [--json]\n",
            program);
}

static int parse_long(const char* text, long min, long max, long* out)
{
    char* end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) return -1;
    *out = value;
    return 0;
}

static int parse_mode(const char* text, enum bench_mode* mode)
{
    if (strcmp(text, "pub") == 0) *mode = BENCH_PUB;
    else if (strcmp(text, "rtt") == 0) *mode = BENCH_RTT;
    else if (strcmp(text, "conn") == 0) *mode = BENCH_CONN;
    else if (strcmp(text, "sub") == 0) *mode = BENCH_SUB;
    else return -1;
    return 0;
}

static int parse_text_flag(const char* flag, const char* value, struct bench_args* a)
{
    if (strcmp(flag, "-h") == 0) a->host = value;
    else if (strcmp(flag, "-t") == 0) a->topic = value;
    else if (strcmp(flag, "--timeout") == 0) a->timeout_s = strtod(value, NULL);
    else return 1;  /* not a text flag */
    return a->timeout_s > 0 ? 0 : -1;
}

static int parse_flag(const char* flag, const char* value, struct bench_args* a)
{
    long v = 0;
    int text = parse_text_flag(flag, value, a);
    if (text <= 0) return text;
    if (strcmp(flag, "-p") == 0) { if (parse_long(value, 1, 65535, &v)) return -1; a->port = (int)v; return 0; }
    if (strcmp(flag, "-q") == 0) { if (parse_long(value, 0, 2, &v)) return -1; a->qos = (int)v; return 0; }
    if (strcmp(flag, "-c") == 0) return parse_long(value, 1, 1000000, &a->clients);
    if (strcmp(flag, "-n") == 0) return parse_long(value, 1, 100000000, &a->messages);
    if (strcmp(flag, "-s") == 0) return parse_long(value, 0, 256L << 20, &a->payload);
    if (strcmp(flag, "--inflight") == 0) return parse_long(value, 1, 65535, &a->inflight);
    if (strcmp(flag, "-I") == 0) return parse_long(value, 0, 3600000, &a->interval_ms);
    if (strcmp(flag, "-V") == 0) {
        if (strcmp(value, "5") == 0 || strcmp(value, "mqttv5") == 0) a->protocol = 5;
        else if (strcmp(value, "311") == 0 || strcmp(value, "mqttv311") == 0) a->protocol = 4;
        else return -1;
        return 0;
    }
    return -1;
}

int bench_parse_args(int argc, char** argv, const char* program, struct bench_args* a)
{
    memset(a, 0, sizeof *a);
    a->host = "127.0.0.1";
    a->port = 1883;
    a->clients = 1;
    a->messages = 10000;
    a->payload = 64;
    a->inflight = 64;
    a->topic = "bench/%i";
    a->timeout_s = 60.0;
    a->protocol = 4;
    if (argc < 2 || parse_mode(argv[1], &a->mode) != 0) {
        usage(program);
        return -1;
    }
    for (int i = 2; i < argc; ++i) {
        if (strcmp(argv[i], "--json") == 0) { a->json = 1; continue; }
        if (i + 1 >= argc || parse_flag(argv[i], argv[i + 1], a) != 0) {
            fprintf(stderr, "%s: bad or incomplete option '%s'\n", program, argv[i]);
            usage(program);
            return -1;
        }
        ++i;
    }
    if (a->interval_ms != 0) {
        fprintf(stderr, "%s: -I is not supported by the comparison peers (they only stream)\n", program);
        return -1;
    }
    if (a->payload < BENCH_MIN_PAYLOAD) {
        fprintf(stderr, "%s: payload raised to %d bytes (timestamp, index, sequence)\n", program,
                BENCH_MIN_PAYLOAD);
        a->payload = BENCH_MIN_PAYLOAD;
    }
    return 0;
}

static void substitute(const char* topic, const char* replacement, char* out, size_t size)
{
    size_t used = 0;
    for (const char* p = topic; *p != '\0' && used + 1 < size; ++p) {
        if (p[0] == '%' && p[1] == 'i') {
            int n = snprintf(out + used, size - used, "%s", replacement);
            used += n > 0 ? (size_t)n : 0;
            if (used >= size) used = size - 1;
            ++p;
        } else {
            out[used++] = *p;
        }
    }
    out[used] = '\0';
}

void bench_topic(const struct bench_args* args, long index, char* out, size_t size)
{
    char number[24];
    snprintf(number, sizeof number, "%ld", index);
    substitute(args->topic, number, out, size);
}

void bench_filter(const struct bench_args* args, char* out, size_t size)
{
    substitute(args->topic, "+", out, size);
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

long bench_rss_kib(void)
{
    /* Opened once and kept: a connection storm may use up every descriptor before the second reading. */
    static int fd = -1;
    if (fd < 0) fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    char text[4096];
    ssize_t n = fd < 0 ? -1 : pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return -1;
    text[n] = '\0';
    const char* line = strstr(text, "VmRSS:");
    return line != NULL ? strtol(line + 6, NULL, 10) : -1;
}

void bench_raise_nofile(long wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t target = (rlim_t)wanted;
    if (target > rl.rlim_max) target = rl.rlim_max;
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

void bench_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void bench_stamp(uint8_t* payload, uint32_t index, uint32_t seq)
{
    uint64_t now = bench_now_ns();
    memcpy(payload, &now, 8);
    memcpy(payload + 8, &index, 4);
    memcpy(payload + 12, &seq, 4);
}

static void init_sync(pthread_mutex_t* mutex, pthread_cond_t* cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(mutex, NULL);
}

static struct timespec to_timespec(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    return ts;
}

int bench_recorder_init(struct bench_recorder* rec, long clients, long per_client)
{
    memset(rec, 0, sizeof *rec);
    rec->clients = clients;
    rec->per_client = per_client;
    size_t expected = (size_t)clients * (size_t)per_client;
    rec->seen = calloc(expected / 8 + 1, 1);
    rec->latency_us = malloc(expected * sizeof(uint32_t) + sizeof(uint32_t));
    init_sync(&rec->mutex, &rec->cond);
    return rec->seen != NULL && rec->latency_us != NULL ? 0 : -1;
}

void bench_recorder_free(struct bench_recorder* rec)
{
    free(rec->seen);
    free(rec->latency_us);
    pthread_mutex_destroy(&rec->mutex);
    pthread_cond_destroy(&rec->cond);
}

/* Marks one stamped payload as seen and keeps its latency; counts duplicates and foreign payloads. */
static void note_arrival(struct bench_recorder* rec, const void* payload, size_t size, uint64_t now)
{
    uint64_t sent = 0;
    uint32_t index = 0;
    uint32_t seq = 0;
    if (size < BENCH_MIN_PAYLOAD) {
        ++rec->foreign;
        return;
    }
    memcpy(&sent, payload, 8);
    memcpy(&index, (const uint8_t*)payload + 8, 4);
    memcpy(&seq, (const uint8_t*)payload + 12, 4);
    if (index >= (uint64_t)rec->clients || seq >= (uint64_t)rec->per_client) {
        ++rec->foreign;
        return;
    }
    size_t bit = (size_t)index * (size_t)rec->per_client + seq;
    if (rec->seen[bit / 8] & (1u << (bit % 8))) {
        ++rec->duplicated;
        return;
    }
    rec->seen[bit / 8] = (uint8_t)(rec->seen[bit / 8] | (1u << (bit % 8)));
    uint64_t us = now > sent ? (now - sent) / 1000u : 0;
    rec->latency_us[rec->unique++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void bench_record(struct bench_recorder* rec, const void* payload, size_t size)
{
    uint64_t now = bench_now_ns();
    note_arrival(rec, payload, size, now);
    if (rec->first_ns == 0) rec->first_ns = now;
    __atomic_store_n(&rec->last_ns, now, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&rec->received, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&rec->waiting, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&rec->mutex);
        pthread_cond_broadcast(&rec->cond);
        pthread_mutex_unlock(&rec->mutex);
    }
}

uint64_t bench_received(struct bench_recorder* rec)
{
    return __atomic_load_n(&rec->received, __ATOMIC_SEQ_CST);
}

uint64_t bench_wait_received(struct bench_recorder* rec, uint64_t target, uint64_t deadline_ns)
{
    pthread_mutex_lock(&rec->mutex);
    __atomic_store_n(&rec->waiting, 1, __ATOMIC_SEQ_CST);
    struct timespec deadline = to_timespec(deadline_ns);
    while (bench_received(rec) < target) {
        if (pthread_cond_timedwait(&rec->cond, &rec->mutex, &deadline) == ETIMEDOUT) break;
    }
    __atomic_store_n(&rec->waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&rec->mutex);
    return bench_received(rec);
}

uint64_t bench_wait_all(struct bench_recorder* rec, uint64_t target, long idle_ms, uint64_t deadline_ns)
{
    uint64_t last = bench_received(rec);
    uint64_t progress_ns = bench_now_ns();
    for (;;) {
        uint64_t now = bench_now_ns();
        uint64_t idle_deadline = progress_ns + (uint64_t)idle_ms * 1000000u;
        if (now >= deadline_ns || now >= idle_deadline) return last;
        uint64_t slice = now + 100000000u;  /* re-check progress every 100 ms */
        if (slice > idle_deadline) slice = idle_deadline;
        if (slice > deadline_ns) slice = deadline_ns;
        uint64_t got = bench_wait_received(rec, target, slice);
        if (got >= target) return got;
        if (got != last) {
            last = got;
            progress_ns = bench_now_ns();
        }
    }
}

void bench_window_init(struct bench_window* w, long limit)
{
    memset(w, 0, sizeof *w);
    w->limit = limit;
    init_sync(&w->mutex, &w->cond);
}

void bench_window_free(struct bench_window* w)
{
    pthread_mutex_destroy(&w->mutex);
    pthread_cond_destroy(&w->cond);
}

static int window_wait(struct bench_window* w, long below, uint64_t deadline_ns)
{
    struct timespec deadline = to_timespec(deadline_ns);
    int rc = 0;
    while (w->outstanding > below && rc == 0) {
        w->waiting = 1;
        if (w->aborted || pthread_cond_timedwait(&w->cond, &w->mutex, &deadline) == ETIMEDOUT) rc = -1;
        w->waiting = 0;
    }
    return w->aborted ? -1 : rc;
}

int bench_window_acquire(struct bench_window* w, uint64_t deadline_ns)
{
    pthread_mutex_lock(&w->mutex);
    int rc = window_wait(w, w->limit - 1, deadline_ns);
    if (rc == 0) ++w->outstanding;
    pthread_mutex_unlock(&w->mutex);
    return rc;
}

void bench_window_release(struct bench_window* w)
{
    pthread_mutex_lock(&w->mutex);
    if (w->outstanding > 0) --w->outstanding;
    ++w->completed;
    if (w->waiting) pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

void bench_window_abort(struct bench_window* w)
{
    pthread_mutex_lock(&w->mutex);
    w->aborted = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

int bench_window_drain(struct bench_window* w, uint64_t deadline_ns)
{
    pthread_mutex_lock(&w->mutex);
    int rc = window_wait(w, 0, deadline_ns);
    pthread_mutex_unlock(&w->mutex);
    return rc;
}

void bench_counter_init(struct bench_counter* c)
{
    c->value = 0;
    init_sync(&c->mutex, &c->cond);
}

void bench_counter_free(struct bench_counter* c)
{
    pthread_mutex_destroy(&c->mutex);
    pthread_cond_destroy(&c->cond);
}

void bench_counter_add(struct bench_counter* c, long delta)
{
    pthread_mutex_lock(&c->mutex);
    __atomic_add_fetch(&c->value, delta, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mutex);
}

long bench_counter_get(struct bench_counter* c)
{
    return __atomic_load_n(&c->value, __ATOMIC_SEQ_CST);
}

long bench_counter_wait(struct bench_counter* c, long target, uint64_t deadline_ns)
{
    struct timespec deadline = to_timespec(deadline_ns);
    pthread_mutex_lock(&c->mutex);
    while (bench_counter_get(c) < target) {
        if (pthread_cond_timedwait(&c->cond, &c->mutex, &deadline) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&c->mutex);
    return bench_counter_get(c);
}

void bench_fill_arrivals(struct bench_result* r, const struct bench_recorder* rec)
{
    r->messages = rec->unique;
    r->lost = r->sent > rec->unique ? r->sent - rec->unique : 0;
    r->duplicated = rec->duplicated;
}

uint64_t bench_deadline(double seconds)
{
    return bench_now_ns() + (uint64_t)(seconds * 1e9);
}

static int compare_u32(const void* a, const void* b)
{
    uint32_t x = *(const uint32_t*)a;
    uint32_t y = *(const uint32_t*)b;
    return (x > y) - (x < y);
}

static uint32_t percentile(const uint32_t* sorted, uint64_t count, double q)
{
    if (count == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)count + 0.999999);  /* nearest rank */
    if (rank == 0) rank = 1;
    if (rank > count) rank = count;
    return sorted[rank - 1];
}

static const char* mode_name(enum bench_mode mode)
{
    return mode == BENCH_PUB ? "pub" : mode == BENCH_RTT ? "rtt" : mode == BENCH_SUB ? "sub" : "conn";
}

static void report_conn(const struct bench_args* a, const char* lib, const struct bench_result* r)
{
    double rate = r->seconds > 0 ? (double)r->messages / r->seconds : 0.0;
    double per_client = r->messages > 0 ? (double)(r->rss_after_kib - r->rss_before_kib) / (double)r->messages : 0;
    double cpu = r->messages > 0 ? (double)r->cpu_us / (double)r->messages : 0.0;
    if (a->json) {
        printf("{\"lib\":\"%s\",\"mode\":\"conn\",\"qos\":%d,\"clients\":%ld,\"messages\":%llu,\"seconds\":%.6f,"
               "\"connect_per_s\":%.1f,\"rss_kib_per_client\":%.3f,\"client_cpu_us_per_msg\":%.3f,\"lost\":%llu,"
               "\"duplicated\":0,\"rss_before_kib\":%ld,\"rss_after_kib\":%ld}\n",
               lib, a->qos, a->clients, (unsigned long long)r->messages, r->seconds, rate, per_client, cpu,
               (unsigned long long)r->lost, r->rss_before_kib, r->rss_after_kib);
    } else {
        printf("%s conn: %llu/%ld clients in %.3f s (%.0f connects/s), %.2f KiB RSS per idle client, "
               "%.1f us CPU per connect\n",
               lib, (unsigned long long)r->messages, a->clients, r->seconds, rate, per_client, cpu);
    }
}

void bench_report(const struct bench_args* a, const char* lib, const struct bench_result* r,
                  struct bench_recorder* rec)
{
    if (a->mode == BENCH_CONN || rec == NULL) {
        report_conn(a, lib, r);
        fflush(stdout);
        return;
    }
    qsort(rec->latency_us, (size_t)rec->unique, sizeof(uint32_t), compare_u32);
    uint32_t p50 = percentile(rec->latency_us, rec->unique, 0.50);
    uint32_t p90 = percentile(rec->latency_us, rec->unique, 0.90);
    uint32_t p99 = percentile(rec->latency_us, rec->unique, 0.99);
    uint32_t max = rec->unique > 0 ? rec->latency_us[rec->unique - 1] : 0;
    double rate = r->seconds > 0 ? (double)r->messages / r->seconds : 0.0;
    double cpu = r->messages > 0 ? (double)r->cpu_us / (double)r->messages : 0.0;
    if (a->json) {
        printf("{\"lib\":\"%s\",\"mode\":\"%s\",\"qos\":%d,\"clients\":%ld,\"inflight\":%ld,\"payload\":%ld,"
               "\"sent\":%llu,\"messages\":%llu,\"seconds\":%.6f,\"msgs_per_s\":%.1f,"
               "\"client_cpu_us_per_msg\":%.3f,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u,"
               "\"lost\":%llu,\"duplicated\":%llu}\n",
               lib, mode_name(a->mode), a->qos, a->clients, a->inflight, a->payload, (unsigned long long)r->sent,
               (unsigned long long)r->messages, r->seconds, rate, cpu, p50, p90, p99, max,
               (unsigned long long)r->lost, (unsigned long long)r->duplicated);
    } else {
        printf("%s %s qos %d: %llu messages in %.3f s = %.0f msg/s, %.3f us CPU/msg, latency us p50 %u p90 %u "
               "p99 %u max %u, lost %llu, duplicated %llu\n",
               lib, mode_name(a->mode), a->qos, (unsigned long long)r->messages, r->seconds, rate, cpu, p50, p90,
               p99, max, (unsigned long long)r->lost, (unsigned long long)r->duplicated);
    }
    fflush(stdout);
}

void bench_sub_ready(void)
{
    const char* path = getenv("BENCH_READY_FILE");
    if (path == NULL || *path == '\0') return;
    FILE* f = fopen(path, "w");
    if (f != NULL) fclose(f);
}

void bench_sub_measure(const struct bench_args* a, const char* lib, struct bench_recorder* rec, uint64_t cpu0)
{
    struct bench_result r = {0};
    uint64_t expected = (uint64_t)a->clients * (uint64_t)a->messages;
    uint64_t deadline = bench_deadline(a->timeout_s);
    /* Polled every 10 ms, as nmqtt bench does: waiting on the recorder's condition variable would make every
     * arrival wake this thread (a futex call per message charged to the library). The publisher needs a
     * moment to connect: the 3 s without progress count from the first arrival. */
    while (bench_received(rec) == 0 && bench_now_ns() < deadline) bench_sleep_ms(10);
    uint64_t last = bench_received(rec), progress_ns = bench_now_ns();
    while (last < expected && bench_now_ns() < deadline && bench_now_ns() < progress_ns + 3000000000u) {
        bench_sleep_ms(10);
        uint64_t got = bench_received(rec);
        if (got != last) last = got, progress_ns = bench_now_ns();
    }
    r.cpu_us = bench_cpu_us() - cpu0;
    r.sent = expected;
    r.seconds = rec->last_ns > rec->first_ns ? (double)(rec->last_ns - rec->first_ns) / 1e9 : 0.0;
    bench_fill_arrivals(&r, rec);
    bench_report(a, lib, &r, rec);
}
