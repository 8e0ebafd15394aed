/*
 * loopback_floor: what one RTP packet costs the kernel on this machine, with no
 * application work at all: the floor under any media server's CPU per call.
 *
 *   loopback_floor [--sockets N] [--rounds R]   prints one JSON object
 *
 * Sending: N sockets (one per call, as RTP needs) each send one 172-byte datagram per
 * round to one receiving socket, timed as CPU time of the sending thread:
 *   sendto      one unconnected sendto per packet (what tollfreed's pacer does)
 *   send        connected sockets, one send per packet
 *   sendmmsg    every packet from ONE socket in batches of 1,000 (the most batching can
 *               save; not usable when each call has its own port)
 * Receiving: N sockets each holding one datagram, read as tollfreed's receiver reads:
 *   epoll+recvmmsg  epoll_wait for the ready sockets, then recvmmsg on each
 * On loopback the sender's system call also runs the delivery into the receiving socket,
 * so the send figures include what a NIC would otherwise take.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The receiving side: one socket, or one per caller in an epoll set (as bench/rtp_meter
   has them in the peer runs: a socket in an epoll set costs each delivery a callback). */
static int *sinks, nsinks, sink_ep;
static volatile int stop;

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Points n receive headers at n buffers of size bytes each (and at from[], if given). */
static void rx_headers(struct mmsghdr *m, struct iovec *v, char *bufs, size_t size, int n, struct sockaddr_in *from) {
    for (int i = 0; i < n; i++) {
        v[i].iov_base = bufs + (size_t)i * size; v[i].iov_len = size;
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
        if (from) { m[i].msg_hdr.msg_name = &from[i]; m[i].msg_hdr.msg_namelen = sizeof from[i]; }
    }
}

/* Empties the receiving sockets without ever sleeping on them (a sleeping reader would
   make every send pay for a wake-up). */
static void *drain(void *arg) {
    (void)arg;
    static char bufs[64][256];
    struct mmsghdr m[64];
    struct iovec v[64];
    struct epoll_event evs[1024];
    rx_headers(m, v, &bufs[0][0], sizeof bufs[0], 64, NULL);
    struct timespec pause = {0, 1000000};
    while (!stop) {
        int got = 0;
        if (nsinks == 1) {
            got = recvmmsg(sinks[0], m, 64, MSG_DONTWAIT, NULL);
        } else {
            int k = epoll_wait(sink_ep, evs, 1024, 0);
            for (int e = 0; e < k; e++) got += recvmmsg(sinks[evs[e].data.u32], m, 64, MSG_DONTWAIT, NULL) > 0;
        }
        if (got < 32) nanosleep(&pause, NULL);
    }
    return NULL;
}

static int udp_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("loopback_floor: bind"); exit(1); }
    return fd;
}

/* CPU microseconds per packet for n senders, to `count` sinks, in the three ways: sendto,
   send on connected sockets, sendmmsg from one socket. Each is the median of three runs
   (this is a shared, virtualised machine). */
static void measure_sends(int n, int count, int rounds, const int *fds, double cost[3]) {
    int big = 64 << 20;
    nsinks = count;
    sinks = malloc(sizeof(int) * (size_t)count);
    struct sockaddr_in *dst = calloc((size_t)count, sizeof *dst);
    sink_ep = epoll_create1(0);
    for (int k = 0; k < count; k++) {
        sinks[k] = udp_socket(0);
        int size = count == 1 ? big : 256 << 10;
        if (setsockopt(sinks[k], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
            setsockopt(sinks[k], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        socklen_t len = sizeof dst[k];
        getsockname(sinks[k], (struct sockaddr *)&dst[k], &len);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)k};
        if (count > 1) epoll_ctl(sink_ep, EPOLL_CTL_ADD, sinks[k], &ev);
    }
    int *conn = malloc(sizeof(int) * (size_t)n);
    struct mmsghdr *mm = calloc((size_t)n, sizeof *mm);
    static char pkt[172];
    memset(pkt, 0xFF, sizeof pkt);
    pkt[0] = (char)0x80;
    struct iovec iov = {.iov_base = pkt, .iov_len = sizeof pkt};
    for (int i = 0; i < n; i++) {
        conn[i] = udp_socket(0);
        connect(conn[i], (struct sockaddr *)&dst[i % count], sizeof dst[i % count]);
        mm[i].msg_hdr.msg_name = &dst[i % count]; mm[i].msg_hdr.msg_namelen = sizeof dst[i % count];
        mm[i].msg_hdr.msg_iov = &iov; mm[i].msg_hdr.msg_iovlen = 1;
    }
    stop = 0;
    pthread_t t;
    pthread_create(&t, NULL, drain, NULL);
    struct timespec tick = {0, 2000000};
    double runs[3][3];
    for (int run = 0; run < 3; run++)
        for (int mode = 0; mode < 3; mode++) {
            long sent = 0;
            double c0 = thread_cpu();
            for (int r = 0; r < rounds; r++) {
                if (mode == 0)
                    for (int i = 0; i < n; i++)
                        sent += sendto(fds[i], pkt, sizeof pkt, MSG_DONTWAIT, (struct sockaddr *)&dst[i % count], sizeof dst[0]) > 0;
                else if (mode == 1)
                    for (int i = 0; i < n; i++) sent += send(conn[i], pkt, sizeof pkt, MSG_DONTWAIT) > 0;
                else
                    for (int o = 0; o < n; o += 1000) {
                        int k = sendmmsg(fds[0], mm + o, (unsigned)(n - o < 1000 ? n - o : 1000), MSG_DONTWAIT);
                        sent += k > 0 ? k : 0;
                    }
                nanosleep(&tick, NULL);
            }
            runs[mode][run] = (thread_cpu() - c0) / (double)(sent ? sent : 1) * 1e6;
        }
    stop = 1;
    pthread_join(t, NULL);
    for (int mode = 0; mode < 3; mode++) {
        double *r = runs[mode], lo = r[0] < r[1] ? r[0] : r[1], hi = r[0] < r[1] ? r[1] : r[0];
        cost[mode] = r[2] < lo ? lo : (r[2] > hi ? hi : r[2]);
    }
    for (int i = 0; i < n; i++) close(conn[i]);
    for (int k = 0; k < count; k++) close(sinks[k]);
    close(sink_ep);
    free(conn); free(mm); free(dst); free(sinks);
}

int main(int argc, char **argv) {
    int n = 2000, rounds = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--sockets")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    }
    int *fds = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) fds[i] = udp_socket(0);
    double one[3], each[3];
    measure_sends(n, 1, rounds, fds, one);
    measure_sends(n, n, rounds, fds, each);
    static char pkt[172];
    memset(pkt, 0xFF, sizeof pkt);
    socklen_t len;

    /* Receiving: one datagram waiting on each of n sockets, found with epoll. */
    int ep = epoll_create1(0);
    struct sockaddr_in self = {0};
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    struct epoll_event *evs = malloc(sizeof *evs * 256);
    static char rbuf[32][2048];
    struct mmsghdr rm[32];
    struct iovec rv[32];
    struct sockaddr_in from[32];
    rx_headers(rm, rv, &rbuf[0][0], sizeof rbuf[0], 32, from);
    double rcpu = 0;
    long got = 0;
    int feeder = udp_socket(0);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++) {
            len = sizeof self;
            getsockname(fds[i], (struct sockaddr *)&self, &len);
            sendto(feeder, pkt, sizeof pkt, 0, (struct sockaddr *)&self, sizeof self);
        }
        double c0 = thread_cpu();
        long want = got + n;
        while (got < want) {
            int k = epoll_wait(ep, evs, 256, 100);
            if (k <= 0) break;
            for (int e = 0; e < k; e++) {
                for (int i = 0; i < 32; i++) rm[i].msg_hdr.msg_namelen = sizeof from[i];
                int m = recvmmsg(fds[evs[e].data.u32], rm, 32, MSG_DONTWAIT, NULL);
                got += m > 0 ? m : 0;
            }
        }
        rcpu += thread_cpu() - c0;
    }
    printf("{\"sockets\": %d, \"sendto_us\": %.2f, \"send_connected_us\": %.2f, \"sendmmsg_one_socket_us\": %.2f, "
           "\"per_caller_sinks\": {\"sendto_us\": %.2f, \"send_connected_us\": %.2f, \"sendmmsg_one_socket_us\": %.2f}, "
           "\"epoll_recvmmsg_us\": %.2f}\n", n, one[0], one[1], one[2], each[0], each[1], each[2], rcpu / (double)(got ? got : 1) * 1e6);
    return 0;
}
