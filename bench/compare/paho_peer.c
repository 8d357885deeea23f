/* Eclipse Paho C peer of the comparison, asynchronous API (MQTTAsync) as its samples use it: callbacks on the
 * library's threads, maxInflight raised to --inflight, no persistence, and the application keeping at most
 * --inflight messages outstanding (queued commands beyond the window make Paho rescan its command list).
 * Paho exposes no socket option, so TCP_NODELAY stays as the library leaves it. */
#define _GNU_SOURCE
#include <MQTTAsync.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

static const char* const kLib = "paho";
static int g_v5 = 0;  /* -V 5: MQTT 5.0 (createWithOptions, the *5 connect options and callbacks) */

struct client_ctx {
    MQTTAsync handle;
    struct bench_recorder* rec;       /* subscriber / rtt client: arrivals */
    struct bench_counter* ready;      /* connected (and subscribed, for subscribers) */
    struct bench_counter* failed;
    struct bench_window window;       /* publishers: outstanding messages */
    const char* filter;               /* NULL: no subscription */
    int qos;
};

static void on_subscribed5(void* context, MQTTAsync_successData5* response);
static void on_failure5(void* context, MQTTAsync_failureData5* response);
static MQTTAsync_responseOptions response_options(struct client_ctx* ctx, MQTTAsync_onSuccess* ok, MQTTAsync_onFailure* bad,
                                                  MQTTAsync_onSuccess5* ok5, MQTTAsync_onFailure5* bad5);

static int on_message(void* context, char* topic, int topic_len, MQTTAsync_message* msg)
{
    (void)topic_len;
    struct client_ctx* ctx = context;
    bench_record(ctx->rec, msg->payload, (size_t)msg->payloadlen);
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connection_lost(void* context, char* cause)
{
    fprintf(stderr, "%s: connection lost: %s\n", kLib, cause != NULL ? cause : "?");
    bench_window_abort(&((struct client_ctx*)context)->window);
}

static void on_subscribed(void* context, MQTTAsync_successData* response)
{
    (void)response;
    bench_counter_add(((struct client_ctx*)context)->ready, 1);
}

static void on_failure(void* context, MQTTAsync_failureData* response)
{
    struct client_ctx* ctx = context;
    if (bench_counter_get(ctx->failed) < 5) {
        fprintf(stderr, "%s: request failed: %d %s\n", kLib, response != NULL ? response->code : 0,
                response != NULL && response->message != NULL ? response->message : "");
    }
    bench_counter_add(ctx->failed, 1);
}

static void on_connected(void* context, MQTTAsync_successData* response)
{
    (void)response;
    struct client_ctx* ctx = context;
    if (ctx->filter == NULL) {
        bench_counter_add(ctx->ready, 1);
        return;
    }
    MQTTAsync_responseOptions ro = response_options(ctx, on_subscribed, on_failure, on_subscribed5, on_failure5);
    int rc = MQTTAsync_subscribe(ctx->handle, ctx->filter, ctx->qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) fprintf(stderr, "%s: subscribe: %s\n", kLib, MQTTAsync_strerror(rc));
}

static void on_sent(void* context, MQTTAsync_successData* response)
{
    (void)response;
    bench_window_release(&((struct client_ctx*)context)->window);
}

static void on_send_failed(void* context, MQTTAsync_failureData* response)
{
    (void)response;
    bench_window_release(&((struct client_ctx*)context)->window);
}

/* MQTT 5.0 connections take the *5 callbacks (Paho refuses the 3.1.1 ones there); they forward. */
static void on_connected5(void* context, MQTTAsync_successData5* response) { (void)response; on_connected(context, NULL); }
static void on_subscribed5(void* context, MQTTAsync_successData5* response) { (void)response; on_subscribed(context, NULL); }
static void on_sent5(void* context, MQTTAsync_successData5* response) { (void)response; on_sent(context, NULL); }
static void on_send_failed5(void* context, MQTTAsync_failureData5* response) { (void)response; on_send_failed(context, NULL); }
static void on_failure5(void* context, MQTTAsync_failureData5* response)
{
    MQTTAsync_failureData data = {0};
    if (response != NULL) {
        data.code = response->reasonCode != 0 ? (int)response->reasonCode : response->code;
        data.message = response->message;
    }
    on_failure(context, response != NULL ? &data : NULL);
}

/* Response options with the 3.1.1 or the 5.0 callbacks, as the connection speaks. */
static MQTTAsync_responseOptions response_options(struct client_ctx* ctx, MQTTAsync_onSuccess* ok, MQTTAsync_onFailure* bad,
                                                  MQTTAsync_onSuccess5* ok5, MQTTAsync_onFailure5* bad5)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    if (g_v5) {
        ro.onSuccess5 = ok5;
        ro.onFailure5 = bad5;
    } else {
        ro.onSuccess = ok;
        ro.onFailure = bad;
    }
    ro.context = ctx;
    return ro;
}

static MQTTAsync_connectOptions connect_options(const struct bench_args* a, struct client_ctx* ctx)
{
    MQTTAsync_connectOptions v311 = MQTTAsync_connectOptions_initializer;
    MQTTAsync_connectOptions v5 = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_connectOptions opts = g_v5 ? v5 : v311;
    opts.keepAliveInterval = 60;
    if (g_v5) {
        opts.cleanstart = 1;
        opts.onSuccess5 = on_connected5;
        opts.onFailure5 = on_failure5;
    } else {
        opts.cleansession = 1;
        opts.MQTTVersion = MQTTVERSION_3_1_1;
        opts.onSuccess = on_connected;
        opts.onFailure = on_failure;
    }
    opts.maxInflight = (int)a->inflight;
    opts.context = ctx;
    return opts;
}

/* Creates the client and starts connecting; completion arrives in ctx->ready or ctx->failed. */
static int start_client(const struct bench_args* a, struct client_ctx* ctx, const char* role, long index)
{
    char uri[300];
    char id[64];
    snprintf(uri, sizeof uri, "tcp://%s:%d", a->host, a->port);
    snprintf(id, sizeof id, "paho-%s-%ld-%d", role, index, (int)getpid());
    bench_window_init(&ctx->window, a->inflight);
    MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer5;
    /* With these options Paho 1.3 refuses a send while 100 (the default) commands are queued: room for the window. */
    create.maxBufferedMessages = (int)a->inflight + 16;
    int rc = g_v5 ? MQTTAsync_createWithOptions(&ctx->handle, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &create)
                  : MQTTAsync_create(&ctx->handle, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "%s: create: %s\n", kLib, MQTTAsync_strerror(rc));
        ctx->handle = NULL;
        return -1;
    }
    MQTTAsync_setCallbacks(ctx->handle, ctx, on_connection_lost, on_message, NULL);
    MQTTAsync_connectOptions opts = connect_options(a, ctx);
    rc = MQTTAsync_connect(ctx->handle, &opts);
    if (rc != MQTTASYNC_SUCCESS) fprintf(stderr, "%s: connect: %s\n", kLib, MQTTAsync_strerror(rc));
    return rc == MQTTASYNC_SUCCESS ? 0 : -1;
}

static void stop_client(struct client_ctx* ctx)
{
    if (ctx->handle == NULL) return;
    MQTTAsync_disconnectOptions opts = MQTTAsync_disconnectOptions_initializer;
    opts.timeout = 0;
    MQTTAsync_disconnect(ctx->handle, &opts);
    MQTTAsync_destroy(&ctx->handle);
}

static int send_one(struct client_ctx* ctx, const char* topic, uint8_t* payload, const struct bench_args* a)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = payload;
    msg.payloadlen = (int)a->payload;
    msg.qos = a->qos;
    msg.retained = 0;
    MQTTAsync_responseOptions ro = response_options(ctx, on_sent, on_send_failed, on_sent5, on_send_failed5);
    int rc = MQTTAsync_sendMessage(ctx->handle, topic, &msg, &ro);
    if (rc != MQTTASYNC_SUCCESS) fprintf(stderr, "%s: publish: %s\n", kLib, MQTTAsync_strerror(rc));
    return rc == MQTTASYNC_SUCCESS ? 0 : -1;
}

static int publish_all(const struct bench_args* a, struct client_ctx* pubs, char** topics, uint64_t deadline,
                       uint64_t* sent)
{
    uint8_t* payload = calloc(1, (size_t)a->payload);
    int rc = 0;
    for (long seq = 0; seq < a->messages && rc == 0; ++seq) {
        for (long i = 0; i < a->clients && rc == 0; ++i) {
            if (bench_window_acquire(&pubs[i].window, deadline) != 0) { rc = -1; break; }
            bench_stamp(payload, (uint32_t)i, (uint32_t)seq);
            rc = send_one(&pubs[i], topics[i], payload, a);
            if (rc == 0) ++*sent;
        }
    }
    for (long i = 0; i < a->clients; ++i) bench_window_drain(&pubs[i].window, deadline);
    free(payload);
    return rc;
}

static void measure_pub(const struct bench_args* a, struct client_ctx* pubs, char** topics, struct bench_recorder* rec)
{
    struct bench_result r = {0};
    uint64_t deadline = bench_deadline(a->timeout_s);
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    publish_all(a, pubs, topics, deadline, &r.sent);
    bench_wait_all(rec, r.sent, 3000, deadline);
    r.cpu_us = bench_cpu_us() - cpu0;
    uint64_t t1 = rec->last_ns > t0 ? rec->last_ns : bench_now_ns();
    r.seconds = (double)(t1 - t0) / 1e9;
    bench_fill_arrivals(&r, rec);
    bench_report(a, kLib, &r, rec);
}

static int run_pub(const struct bench_args* a)
{
    struct bench_recorder rec;
    struct bench_counter ready, failed;
    bench_recorder_init(&rec, a->clients, a->messages);
    bench_counter_init(&ready);
    bench_counter_init(&failed);
    char filter[256];
    bench_filter(a, filter, sizeof filter);
    struct client_ctx sub = {.rec = &rec, .ready = &ready, .failed = &failed, .filter = filter, .qos = a->qos};
    int rc = start_client(a, &sub, "sub", 0);
    if (rc == 0 && bench_counter_wait(&ready, 1, bench_deadline(10)) < 1) rc = -1;
    struct client_ctx* pubs = calloc((size_t)a->clients, sizeof *pubs);
    char** topics = calloc((size_t)a->clients, sizeof *topics);
    for (long i = 0; i < a->clients && rc == 0; ++i) {
        pubs[i] = (struct client_ctx){.ready = &ready, .failed = &failed, .qos = a->qos};
        topics[i] = malloc(256);
        bench_topic(a, i, topics[i], 256);
        rc = start_client(a, &pubs[i], "pub", i);
    }
    if (rc == 0 && bench_counter_wait(&ready, 1 + a->clients, bench_deadline(30)) < 1 + a->clients) rc = -1;
    if (rc == 0) measure_pub(a, pubs, topics, &rec);
    else fprintf(stderr, "%s: clients did not connect\n", kLib);
    for (long i = 0; i < a->clients; ++i) {
        stop_client(&pubs[i]);
        free(topics[i]);
    }
    stop_client(&sub);
    free(pubs), free(topics);
    bench_recorder_free(&rec);
    return rc;
}

/* sub: one subscriber for every publisher's topic, its CPU measured from the subscription on. */
static int run_sub(const struct bench_args* a)
{
    struct bench_recorder rec;
    struct bench_counter ready, failed;
    bench_recorder_init(&rec, a->clients, a->messages);
    bench_counter_init(&ready);
    bench_counter_init(&failed);
    char filter[256];
    bench_filter(a, filter, sizeof filter);
    struct client_ctx sub = {.rec = &rec, .ready = &ready, .failed = &failed, .filter = filter, .qos = a->qos};
    int rc = start_client(a, &sub, "sub", 0);
    if (rc == 0 && bench_counter_wait(&ready, 1, bench_deadline(10)) < 1) rc = -1;
    if (rc == 0) {
        uint64_t cpu0 = bench_cpu_us();
        bench_sub_ready();
        bench_sub_measure(a, kLib, &rec, cpu0);
    } else {
        fprintf(stderr, "%s: subscription not acknowledged\n", kLib);
    }
    stop_client(&sub);
    bench_recorder_free(&rec);
    return rc;
}

static int run_rtt(const struct bench_args* a)
{
    struct bench_recorder rec;
    struct bench_counter ready, failed;
    bench_recorder_init(&rec, 1, a->messages);
    bench_counter_init(&ready);
    bench_counter_init(&failed);
    char topic[256];
    bench_topic(a, 0, topic, sizeof topic);
    struct client_ctx c = {.rec = &rec, .ready = &ready, .failed = &failed, .filter = topic, .qos = a->qos};
    if (start_client(a, &c, "rtt", 0) != 0 || bench_counter_wait(&ready, 1, bench_deadline(10)) < 1) {
        fprintf(stderr, "%s: not connected/subscribed\n", kLib);
        stop_client(&c);
        return -1;
    }
    uint8_t* payload = calloc(1, (size_t)a->payload);
    struct bench_result r = {0};
    uint64_t deadline = bench_deadline(a->timeout_s);
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long k = 0; k < a->messages && bench_now_ns() < deadline; ++k) {
        bench_stamp(payload, 0, (uint32_t)k);
        if (send_one(&c, topic, payload, a) != 0) break;
        ++r.sent;
        uint64_t sample_deadline = bench_deadline(2.0);
        bench_wait_received(&rec, r.sent, sample_deadline < deadline ? sample_deadline : deadline);
    }
    r.cpu_us = bench_cpu_us() - cpu0;
    r.seconds = (double)(bench_now_ns() - t0) / 1e9;
    bench_fill_arrivals(&r, &rec);
    bench_report(a, kLib, &r, &rec);
    stop_client(&c);
    free(payload);
    bench_recorder_free(&rec);
    return 0;
}

static int run_conn(const struct bench_args* a)
{
    bench_raise_nofile(a->clients + 64);
    struct bench_counter ready, failed;
    bench_counter_init(&ready);
    bench_counter_init(&failed);
    struct client_ctx* clients = calloc((size_t)a->clients, sizeof *clients);
    struct bench_result r = {0};
    uint64_t deadline = bench_deadline(a->timeout_s);
    r.rss_before_kib = bench_rss_kib();
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < a->clients; ++i) {
        clients[i] = (struct client_ctx){.ready = &ready, .failed = &failed};
        if (start_client(a, &clients[i], "conn", i) != 0) break;
        ++r.sent;
    }
    while (bench_counter_get(&ready) + bench_counter_get(&failed) < (long)r.sent && bench_now_ns() < deadline) {
        bench_counter_wait(&ready, (long)r.sent - bench_counter_get(&failed), bench_deadline(0.1));
    }
    uint64_t t1 = bench_now_ns();
    r.cpu_us = bench_cpu_us() - cpu0;
    r.rss_after_kib = bench_rss_kib();
    r.seconds = (double)(t1 - t0) / 1e9;
    r.messages = (uint64_t)bench_counter_get(&ready);
    r.lost = (uint64_t)a->clients - r.messages;
    bench_report(a, kLib, &r, NULL);
    for (long i = 0; i < a->clients; ++i) stop_client(&clients[i]);
    free(clients);
    return r.messages == (uint64_t)a->clients ? 0 : -1;
}

int main(int argc, char** argv)
{
    struct bench_args a;
    if (bench_parse_args(argc, argv, "paho_peer", &a) != 0) return 2;
    g_v5 = a.protocol == 5;
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = 0;
    MQTTAsync_global_init(&init);
    int rc = a.mode == BENCH_PUB   ? run_pub(&a)
             : a.mode == BENCH_RTT ? run_rtt(&a)
             : a.mode == BENCH_SUB ? run_sub(&a)
                                   : run_conn(&a);
    return rc == 0 ? 0 : 1;
}
