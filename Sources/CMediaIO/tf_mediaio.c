#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tf_mediaio.h"

int tfm_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int tfm_epoll_add(int ep, int fd, uint64_t key) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int tfm_epoll_del(int ep, int fd) { return epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); }

int tfm_epoll_wait(int ep, uint64_t *keys, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    do { n = epoll_wait(ep, evs, max, timeout_ms); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) keys[i] = evs[i].data.u64;
    return n;
}

int tfm_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int tfm_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

void tfm_eventfd_drain(int fd) {
    uint64_t v;
    while (read(fd, &v, sizeof v) > 0) {}
}

struct tfm_batch {
    int count;
    int bufsize;
    uint8_t *data;
    struct iovec *iov;
    struct sockaddr_in6 *addr; /* room for either family's source */
    struct mmsghdr *msgs;
    int filled; /* entries the last receive filled */
};

tfm_batch_t *tfm_batch_create(int count, int bufsize) {
    tfm_batch_t *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->count = count;
    b->bufsize = bufsize;
    b->data = malloc((size_t)count * (size_t)bufsize);
    b->iov = calloc((size_t)count, sizeof *b->iov);
    b->addr = calloc((size_t)count, sizeof *b->addr);
    b->msgs = calloc((size_t)count, sizeof *b->msgs);
    if (!b->data || !b->iov || !b->addr || !b->msgs) { tfm_batch_destroy(b); return NULL; }
    for (int i = 0; i < count; i++) {
        b->iov[i].iov_base = b->data + (size_t)i * (size_t)bufsize;
        b->iov[i].iov_len = (size_t)bufsize;
        b->msgs[i].msg_hdr.msg_name = &b->addr[i];
        b->msgs[i].msg_hdr.msg_namelen = sizeof b->addr[i];
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    b->filled = 0;
    return b;
}

void tfm_batch_destroy(tfm_batch_t *b) {
    if (!b) return;
    free(b->data); free(b->iov); free(b->addr); free(b->msgs); free(b);
}

int tfm_batch_recv(int fd, tfm_batch_t *b) {
    /* The headers were built once (tfm_batch_create); the kernel only rewrites the name
       length, flags and length of the entries it filled last time. */
    for (int i = 0; i < b->filled; i++) {
        b->msgs[i].msg_hdr.msg_namelen = sizeof b->addr[i];
        b->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(fd, b->msgs, (unsigned)b->count, MSG_DONTWAIT, NULL);
    b->filled = n < 0 ? 0 : n;
    return b->filled;
}

const uint8_t *tfm_batch_packet(const tfm_batch_t *b, int i, int *length, tfm_source_t *source) {
    *length = (int)b->msgs[i].msg_len;
    const struct sockaddr_in6 *a6 = &b->addr[i];
    uint8_t bytes[16] = {0};
    source->port = 0;
    if (a6->sin6_family == AF_INET6) {
        memcpy(bytes, &a6->sin6_addr, 16);
        source->port = a6->sin6_port;
    } else if (a6->sin6_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)a6;
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        memcpy(bytes + 12, &a4->sin_addr, 4);
        source->port = a4->sin_port;
    }
    memcpy(&source->high, bytes, 8);
    memcpy(&source->low, bytes + 8, 8);
    return (const uint8_t *)b->iov[i].iov_base;
}

#include <malloc.h>

int tf_release_free_memory(void) { return malloc_trim(0); }

int tf_fix_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

void tf_heap_stats(uint64_t *in_use, uint64_t *free_held) {
    struct mallinfo2 mi = mallinfo2();
    *in_use = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
    *free_held = (uint64_t)mi.fordblks;
}
