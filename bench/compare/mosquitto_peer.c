/* libmosquitto peer of the comparison, used as its documentation recommends: one network thread per client
 * (mosquitto_loop_start), TCP_NODELAY on, the send maximum (max in-flight) raised to --inflight, the
 * application publishing from its own thread and keeping at most --inflight messages outstanding.
 * conn mode: thousands of clients do not get a thread each; a competent user drives them from one epoll
 * loop with mosquitto_socket / mosquitto_loop_read / mosquitto_loop_write, which also works above
 * descriptor 1024 (mosquitto_loop itself uses select()). */
#define _GNU_SOURCE
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_common.h"

static const char* const kLib = "libmosquitto";

struct sub_ctx {
    struct bench_recorder* rec;
    struct bench_counter* ready;
    const char* filter;
    int qos;
};

static void on_sub_connect(struct mosquitto* m, void* user, int rc)
{
    struct sub_ctx* ctx = user;
    if (rc == 0) mosquitto_subscribe(m, NULL, ctx->filter, ctx->qos);
}

static void on_subscribe(struct mosquitto* m, void* user, int mid, int count, const int* granted)
{
    (void)m, (void)mid, (void)count, (void)granted;
    bench_counter_add(((struct sub_ctx*)user)->ready, 1);
}

static void on_message(struct mosquitto* m, void* user, const struct mosquitto_message* msg)
{
    (void)m;
    bench_record(((struct sub_ctx*)user)->rec, msg->payload, (size_t)msg->payloadlen);
}

struct pub_ctx {
    struct bench_window window;
    struct bench_counter* connected;
};

static void on_pub_connect(struct mosquitto* m, void* user, int rc)
{
    (void)m;
    if (rc == 0) bench_counter_add(((struct pub_ctx*)user)->connected, 1);
}

static void on_publish(struct mosquitto* m, void* user, int mid)
{
    (void)m, (void)mid;
    bench_window_release(&((struct pub_ctx*)user)->window);
}

static void on_pub_disconnect(struct mosquitto* m, void* user, int rc)
{
    (void)m;
    if (rc != 0) fprintf(stderr, "%s: publisher disconnected: %s\n", kLib, mosquitto_strerror(rc));
    bench_window_abort(&((struct pub_ctx*)user)->window);
}

static int g_protocol = MQTT_PROTOCOL_V311;  /* -V 5: MQTT_PROTOCOL_V5 */

static struct mosquitto* new_client(const char* role, long index, void* user, long inflight)
{
    char id[64];
    snprintf(id, sizeof id, "mosq-%s-%ld-%d", role, index, (int)getpid());
    struct mosquitto* m = mosquitto_new(id, true, user);
    if (m == NULL) return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, g_protocol);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)inflight);
    return m;
}

static int start(struct mosquitto* m, const struct bench_args* a)
{
    int rc = mosquitto_connect(m, a->host, a->port, 60);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(m);
    if (rc != MOSQ_ERR_SUCCESS) fprintf(stderr, "%s: connect: %s\n", kLib, mosquitto_strerror(rc));
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

static void stop(struct mosquitto* m)
{
    if (m == NULL) return;
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
}

/* Subscriber of pub mode and the single client of rtt mode. */
static struct mosquitto* start_subscriber(const struct bench_args* a, struct sub_ctx* ctx, const char* role)
{
    struct mosquitto* m = new_client(role, 0, ctx, a->inflight);
    if (m == NULL) return NULL;
    mosquitto_connect_callback_set(m, on_sub_connect);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_message_callback_set(m, on_message);
    if (start(m, a) != 0 || bench_counter_wait(ctx->ready, 1, bench_deadline(10)) < 1) {
        fprintf(stderr, "%s: subscription not acknowledged\n", kLib);
        stop(m);
        return NULL;
    }
    return m;
}

static int publish_all(const struct bench_args* a, struct mosquitto** pubs, struct pub_ctx* ctx, char** topics,
                       uint64_t deadline, uint64_t* sent)
{
    uint8_t* payload = calloc(1, (size_t)a->payload);
    int rc = 0;
    for (long seq = 0; seq < a->messages && rc == 0; ++seq) {
        for (long i = 0; i < a->clients && rc == 0; ++i) {
            if (bench_window_acquire(&ctx[i].window, deadline) != 0) { rc = -1; break; }
            bench_stamp(payload, (uint32_t)i, (uint32_t)seq);
            int err = mosquitto_publish(pubs[i], NULL, topics[i], (int)a->payload, payload, a->qos, false);
            if (err != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "%s: publish: %s\n", kLib, mosquitto_strerror(err));
                rc = -1;
            } else {
                ++*sent;
            }
        }
    }
    for (long i = 0; i < a->clients; ++i) bench_window_drain(&ctx[i].window, deadline);
    free(payload);
    return rc;
}

static int connect_publishers(const struct bench_args* a, struct mosquitto** pubs, struct pub_ctx* ctx,
                              struct bench_counter* connected)
{
    for (long i = 0; i < a->clients; ++i) {
        bench_window_init(&ctx[i].window, a->inflight);
        ctx[i].connected = connected;
        pubs[i] = new_client("pub", i, &ctx[i], a->inflight);
        if (pubs[i] == NULL) return -1;
        mosquitto_connect_callback_set(pubs[i], on_pub_connect);
        mosquitto_publish_callback_set(pubs[i], on_publish);
        mosquitto_disconnect_callback_set(pubs[i], on_pub_disconnect);
        if (start(pubs[i], a) != 0) return -1;
    }
    return bench_counter_wait(connected, a->clients, bench_deadline(30)) == a->clients ? 0 : -1;
}

static int run_pub(const struct bench_args* a)
{
    struct bench_recorder rec;
    struct bench_counter ready, connected;
    bench_recorder_init(&rec, a->clients, a->messages);
    bench_counter_init(&ready);
    bench_counter_init(&connected);
    char filter[256];
    bench_filter(a, filter, sizeof filter);
    struct sub_ctx sctx = {&rec, &ready, filter, a->qos};
    struct mosquitto* sub = start_subscriber(a, &sctx, "sub");
    struct mosquitto** pubs = calloc((size_t)a->clients, sizeof *pubs);
    struct pub_ctx* pctx = calloc((size_t)a->clients, sizeof *pctx);
    char** topics = calloc((size_t)a->clients, sizeof *topics);
    for (long i = 0; i < a->clients; ++i) {
        topics[i] = malloc(256);
        bench_topic(a, i, topics[i], 256);
    }
    int rc = sub != NULL && connect_publishers(a, pubs, pctx, &connected) == 0 ? 0 : -1;
    if (rc == 0) {
        struct bench_result r = {0};
        uint64_t deadline = bench_deadline(a->timeout_s);
        uint64_t cpu0 = bench_cpu_us();
        uint64_t t0 = bench_now_ns();
        publish_all(a, pubs, pctx, topics, deadline, &r.sent);
        bench_wait_all(&rec, r.sent, 3000, deadline);
        r.cpu_us = bench_cpu_us() - cpu0;
        uint64_t t1 = rec.last_ns > t0 ? rec.last_ns : bench_now_ns();
        r.seconds = (double)(t1 - t0) / 1e9;
        bench_fill_arrivals(&r, &rec);
        bench_report(a, kLib, &r, &rec);
    }
    for (long i = 0; i < a->clients; ++i) {
        stop(pubs[i]);
        free(topics[i]);
    }
    stop(sub);
    free(pubs), free(pctx), free(topics);
    bench_recorder_free(&rec);
    return rc;
}

/* sub: one subscriber for every publisher's topic, its CPU measured from the subscription on. */
static int run_sub(const struct bench_args* a)
{
    struct bench_recorder rec;
    struct bench_counter ready;
    bench_recorder_init(&rec, a->clients, a->messages);
    bench_counter_init(&ready);
    char filter[256];
    bench_filter(a, filter, sizeof filter);
    struct sub_ctx sctx = {&rec, &ready, filter, a->qos};
    struct mosquitto* sub = start_subscriber(a, &sctx, "sub");
    if (sub != NULL) {
        uint64_t cpu0 = bench_cpu_us();
        bench_sub_ready();
        bench_sub_measure(a, kLib, &rec, cpu0);
    }
    stop(sub);
    bench_counter_free(&ready);
    bench_recorder_free(&rec);
    return sub != NULL ? 0 : -1;
}

static int run_rtt(const struct bench_args* a)
{
    struct bench_recorder rec;
    struct bench_counter ready;
    bench_recorder_init(&rec, 1, a->messages);
    bench_counter_init(&ready);
    char topic[256];
    bench_topic(a, 0, topic, sizeof topic);
    struct sub_ctx ctx = {&rec, &ready, topic, a->qos};
    struct mosquitto* m = start_subscriber(a, &ctx, "rtt");
    if (m == NULL) return -1;
    uint8_t* payload = calloc(1, (size_t)a->payload);
    struct bench_result r = {0};
    uint64_t deadline = bench_deadline(a->timeout_s);
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long k = 0; k < a->messages && bench_now_ns() < deadline; ++k) {
        bench_stamp(payload, 0, (uint32_t)k);
        if (mosquitto_publish(m, NULL, topic, (int)a->payload, payload, a->qos, false) != MOSQ_ERR_SUCCESS) break;
        ++r.sent;
        uint64_t sample_deadline = bench_deadline(2.0);
        bench_wait_received(&rec, r.sent, sample_deadline < deadline ? sample_deadline : deadline);
    }
    r.cpu_us = bench_cpu_us() - cpu0;
    r.seconds = (double)(bench_now_ns() - t0) / 1e9;
    bench_fill_arrivals(&r, &rec);
    bench_report(a, kLib, &r, &rec);
    stop(m);
    free(payload);
    bench_recorder_free(&rec);
    return 0;
}

static void on_conn_connect(struct mosquitto* m, void* user, int rc)
{
    (void)m;
    if (rc == 0) ++*(long*)user;
}

static void pump(int ep, int timeout_ms)
{
    struct epoll_event events[256];
    int n = epoll_wait(ep, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
        struct mosquitto* m = events[i].data.ptr;
        mosquitto_loop_read(m, 1);
        if (mosquitto_want_write(m)) mosquitto_loop_write(m, 1);
    }
}

static int run_conn(const struct bench_args* a)
{
    bench_raise_nofile(3 * a->clients + 64);  /* each client: its socket and a socketpair to wake its loop */
    struct mosquitto** clients = calloc((size_t)a->clients, sizeof *clients);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long connected = 0;
    struct bench_result r = {0};
    uint64_t deadline = bench_deadline(a->timeout_s);
    r.rss_before_kib = bench_rss_kib();
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < a->clients && bench_now_ns() < deadline; ++i) {
        clients[i] = new_client("conn", i, &connected, a->inflight);
        if (clients[i] == NULL) break;
        mosquitto_connect_callback_set(clients[i], on_conn_connect);
        int rc = mosquitto_connect(clients[i], a->host, a->port, 60);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "%s: connect %ld: %s\n", kLib, i, mosquitto_strerror(rc));
            break;
        }
        ++r.sent;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = clients[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, mosquitto_socket(clients[i]), &ev);
        if (i % 32 == 31) pump(ep, 0);
    }
    while (connected < (long)r.sent && bench_now_ns() < deadline) pump(ep, 100);
    uint64_t t1 = bench_now_ns();
    r.cpu_us = bench_cpu_us() - cpu0;
    r.rss_after_kib = bench_rss_kib();
    r.seconds = (double)(t1 - t0) / 1e9;
    r.messages = (uint64_t)connected;
    r.lost = (uint64_t)a->clients - r.messages;
    bench_report(a, kLib, &r, NULL);
    for (long i = 0; i < a->clients; ++i) {
        if (clients[i] == NULL) continue;
        mosquitto_disconnect(clients[i]);
        mosquitto_destroy(clients[i]);
    }
    close(ep);
    free(clients);
    return connected == a->clients ? 0 : -1;
}

int main(int argc, char** argv)
{
    struct bench_args a;
    if (bench_parse_args(argc, argv, "mosquitto_peer", &a) != 0) return 2;
    if (a.protocol == 5) g_protocol = MQTT_PROTOCOL_V5;
    mosquitto_lib_init();
    int rc = a.mode == BENCH_PUB   ? run_pub(&a)
             : a.mode == BENCH_RTT ? run_rtt(&a)
             : a.mode == BENCH_SUB ? run_sub(&a)
                                   : run_conn(&a);
    mosquitto_lib_cleanup();
    return rc == 0 ? 0 : 1;
}
