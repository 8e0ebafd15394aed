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

static int sink;
static volatile int stop;

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Empties the receiving socket without ever sleeping on it (a sleeping reader would make
   every send pay for a wake-up). */
static void *drain(void *arg) {
    (void)arg;
    static char bufs[64][256];
    struct mmsghdr m[64];
    struct iovec v[64];
    for (int i = 0; i < 64; i++) {
        v[i].iov_base = bufs[i]; v[i].iov_len = sizeof bufs[i];
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
    }
    struct timespec pause = {0, 1000000};
    while (!stop)
        if (recvmmsg(sink, m, 64, MSG_DONTWAIT, NULL) < 32) nanosleep(&pause, NULL);
    return NULL;
}

static int udp_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("loopback_floor: bind"); exit(1); }
    return fd;
}

int main(int argc, char **argv) {
    int n = 2000, rounds = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--sockets")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    }
    int big = 64 << 20;
    sink = socket(AF_INET, SOCK_DGRAM, 0);
    if (setsockopt(sink, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct sockaddr_in to = {.sin_family = AF_INET};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(sink, (struct sockaddr *)&to, sizeof to) < 0) { perror("bind"); return 1; }
    socklen_t len = sizeof to;
    getsockname(sink, (struct sockaddr *)&to, &len);

    int *fds = malloc(sizeof(int) * (size_t)n);
    int *conn = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        fds[i] = udp_socket(0);
        conn[i] = udp_socket(0);
        connect(conn[i], (struct sockaddr *)&to, sizeof to);
    }
    pthread_t t;
    pthread_create(&t, NULL, drain, NULL);
    static char pkt[172];
    memset(pkt, 0xFF, sizeof pkt);
    pkt[0] = (char)0x80;
    struct mmsghdr *mm = calloc((size_t)n, sizeof *mm);
    struct iovec iov = {.iov_base = pkt, .iov_len = sizeof pkt};
    for (int i = 0; i < n; i++) {
        mm[i].msg_hdr.msg_name = &to; mm[i].msg_hdr.msg_namelen = sizeof to;
        mm[i].msg_hdr.msg_iov = &iov; mm[i].msg_hdr.msg_iovlen = 1;
    }
    struct timespec tick = {0, 2000000};
    double cost[3];
    for (int mode = 0; mode < 3; mode++) {
        long sent = 0;
        double c0 = thread_cpu();
        for (int r = 0; r < rounds; r++) {
            if (mode == 0)
                for (int i = 0; i < n; i++) sent += sendto(fds[i], pkt, sizeof pkt, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) > 0;
            else if (mode == 1)
                for (int i = 0; i < n; i++) sent += send(conn[i], pkt, sizeof pkt, MSG_DONTWAIT) > 0;
            else
                for (int o = 0; o < n; o += 1000) {
                    int k = sendmmsg(fds[0], mm + o, (unsigned)(n - o < 1000 ? n - o : 1000), MSG_DONTWAIT);
                    sent += k > 0 ? k : 0;
                }
            nanosleep(&tick, NULL);
        }
        cost[mode] = (thread_cpu() - c0) / (double)(sent ? sent : 1) * 1e6;
    }
    stop = 1;
    pthread_join(t, NULL);

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
    for (int i = 0; i < 32; i++) {
        rv[i].iov_base = rbuf[i]; rv[i].iov_len = sizeof rbuf[i];
        memset(&rm[i], 0, sizeof rm[i]);
        rm[i].msg_hdr.msg_iov = &rv[i]; rm[i].msg_hdr.msg_iovlen = 1;
        rm[i].msg_hdr.msg_name = &from[i]; rm[i].msg_hdr.msg_namelen = sizeof from[i];
    }
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
           "\"epoll_recvmmsg_us\": %.2f}\n", n, cost[0], cost[1], cost[2], rcpu / (double)(got ? got : 1) * 1e6);
    return 0;
}
