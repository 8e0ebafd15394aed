/// Linux socket calls the media engine needs that Swift's Glibc module does not import
/// (epoll, eventfd, recvmmsg need _GNU_SOURCE). Plain fixed-size types only.
#ifndef TF_MEDIAIO_H
#define TF_MEDIAIO_H
#include <stdint.h>
#include <stddef.h>

int tfm_epoll_create(void);
int tfm_epoll_add(int ep, int fd, uint64_t key);
int tfm_epoll_del(int ep, int fd);
/// Waits for readiness; fills up to `max` keys. Returns the count, 0 on timeout, -1 on error.
int tfm_epoll_wait(int ep, uint64_t *keys, int max, int timeout_ms);
/// A non-blocking eventfd for waking the epoll thread.
int tfm_eventfd(void);
int tfm_eventfd_signal(int fd);
void tfm_eventfd_drain(int fd);

/// Buffers for one recvmmsg batch, allocated once.
typedef struct tfm_batch tfm_batch_t;
tfm_batch_t *tfm_batch_create(int count, int bufsize);
void tfm_batch_destroy(tfm_batch_t *b);
/// Reads up to the batch size of datagrams without blocking. Returns how many (0 when none).
int tfm_batch_recv(int fd, tfm_batch_t *b);
/// A datagram's source in one form for both families: the 16 bytes of the IPv6 address
/// (an IPv4 source as v4-mapped, ::ffff:a.b.c.d) as two words copied from memory, and the
/// port in network order. All zero for a source of another family.
typedef struct {
    uint64_t high;
    uint64_t low;
    uint16_t port;
} tfm_source_t;
/// The i-th datagram of the last receive: its bytes, length and source.
const uint8_t *tfm_batch_packet(const tfm_batch_t *b, int i, int *length, tfm_source_t *source);
/// Gives memory freed by the process back to the kernel (glibc's malloc_trim). Returns 1
/// when some was released.
int tf_release_free_memory(void);
/// Fixes glibc's mmap threshold at `bytes`. Left alone, glibc raises it to the size of the
/// largest mapped block freed (up to 32 MiB), after which multi-megabyte buffers (a
/// recording's samples) come from the arenas and leave them fragmented when freed.
/// Returns 1 on success.
int tf_fix_mmap_threshold(int bytes);
/// The allocator's view of the heap (glibc's mallinfo2, every arena): bytes in use by the
/// program, and bytes freed but still held by the allocator (fragments it cannot return).
void tf_heap_stats(uint64_t *in_use, uint64_t *free_held);

#endif
