/*
 * rtp_meter: the benchmark callers' media endpoint.
 *
 * Every benchmark caller's SDP points at this one UDP port. The meter
 *   - receives the RTP the system under test sends, timestamps each datagram with the
 *     kernel's arrival time (SO_TIMESTAMPNS), groups packets into streams by source
 *     address and SSRC, and measures pacing as a caller hears it: inter-packet gap
 *     histogram (10 us buckets), sequence gaps, first packet and first speech packet
 *     (payload not all G.711 silence) per stream;
 *   - with --send, acts as the callers' voice: one PCMU packet (a 400 Hz tone) every 20 ms
 *     to every stream heard in the last 100 ms, so the system under test also receives a
 *     caller's RTP. Two arrival patterns:
 *       --arrival spread (the default): as independent phones send. Each caller has its own
 *         phase (uniform over the 20 ms, fixed for the call) and every packet its own
 *         jitter (uniform within +-J ms, --jitter-ms J, default 2) around that caller's
 *         exact 20 ms grid (RTP timestamps stay regular); a 250 us clock (--tick-us) sends
 *         what is due, each packet in its own system call as separate phones would, so
 *         packets reach the daemon spread over the period, one socket at a time.
 *       --arrival batch: every caller's packet in the same instant, one sendmmsg batch per
 *         20 ms (a load no carrier sends; kept as a labelled extra column).
 *
 *   - with --relay (bridges), measures what a relay adds: each stream is one peer address
 *     (the SSRC may change as the far end's talker is relayed in), the callers' and agents'
 *     voice answers in the payload type it hears (PCMU or PCMA, so transcoding legs stay
 *     transcoding), and every packet sent carries a mark (16 samples: a pattern and a
 *     serial, in levels G.711 transcoding cannot blur) whose send time is kept; a marked
 *     packet heard again on the bridge's other leg gives one relay latency sample;
 *   - with --targets FILE ("PORT PT" lines), also sends from the start to those ports on
 *     127.0.0.1 whether or not they were heard (a relay that speaks only when spoken to,
 *     such as rtpengine).
 *
 *   rtp_meter --port P --seconds S --out summary.json [--streams streams.tsv] [--send]
 *             [--arrival spread|batch] [--jitter-ms J] [--tick-us T] [--relay] [--targets F]
 *             [--srtp-key BASE64]   (callers' SRTP: see srtp_tx)
 *
 * Kept in C and batched so that it costs the machine far less than what it measures; its
 * own CPU time is printed in the summary. Built by bench/suite.sh with the system cc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <srtp2/srtp.h>

#define BATCH 256
#define BUF 2048
#define TABLE (1u << 17)         /* stream slots (open addressing) */
#define BUCKET_NS 10000ull       /* histogram resolution: 10 us */
#define BUCKETS 100000u          /* up to 1 s */

struct stream {
    uint32_t sock, addr, ssrc;
    uint16_t port, last_seq;
    uint8_t used, spoke, pinned, tx_pt;
    uint32_t rx_ssrc;
    uint64_t packets, seq_gaps, first_ns, last_ns, speech_ns;
    /* caller's side, when sending */
    uint32_t tx_ssrc, tx_ts;
    uint16_t tx_seq;
    uint64_t tx_packets;
    /* spread arrival: this caller's 20 ms grid (offset by its phase) and the next send */
    uint64_t tx_grid_ns, tx_due_ns;
};

static int spread = 1, relay_mode = 0;
/* --srtp-key BASE64: the callers' SRTP (AES_CM_128_HMAC_SHA1_80, the key every caller's
   SDP offers): what they send is protected with it, one libsrtp stream per caller SSRC.
   What arrives is counted from the clear RTP header; its payload stays encrypted (the
   daemon's key is in each 200 OK, which sipp does not hand over), so "first speech" means
   the first packet. */
static srtp_t srtp_tx;
static uint64_t jitter_ns = 2000000, tick_ns = 250000;

static struct stream *streams;
/* Streams the sender serves: appended when first heard, dropped once silent for 2 s. */
static struct stream **active;
static uint32_t nactive;
static uint64_t *hist;
static uint64_t max_gap_ns, total_packets, gaps_counted, nstreams, malformed;
/* --relay: the send time of every marked packet, by serial (a ring: 2^21 packets, about
   14 s at 1,500 bridges), and the relay latency histogram. */
#define MARKS (1u << 21)
struct mark { uint32_t serial; uint64_t sent_ns; };
static struct mark *marks;
static uint32_t next_serial = 1;
static uint64_t *relay_hist, relay_samples, relay_max_ns;
/* How late the sender is against each packet's due time: when this grows, the machine
   cannot carry the load the meter is asked to make, and what it hears is not the system's
   doing alone. */
static uint64_t *late_hist, late_samples, late_max_ns;
static volatile int stop_flag;
/* One socket (every caller's SDP names the same port) or --ports BASE:COUNT, one per
   caller, for peers that send every call from one address with one SSRC (sipp's pcap
   replay); streams are then told apart by the port they arrive on. */
static int *fds, nfds = 1, base_port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* G.711 (ITU-T G.711's reference rules), for the callers' tone and the relay marks. */
static uint8_t ulaw(int16_t pcm) {
    int sign = pcm < 0 ? 0x80 : 0, v = pcm < 0 ? -pcm : pcm;
    if (v > 32635) v = 32635;
    v += 0x84;
    int exp = 7;
    for (int mask = 0x4000; !(v & mask) && exp > 0; mask >>= 1) exp--;
    int mant = (v >> (exp + 3)) & 0x0F;
    return (uint8_t)~(sign | exp << 4 | mant);
}
static int ulaw_decode(uint8_t u) {
    u = (uint8_t)~u;
    int t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
    return (u & 0x80) ? 0x84 - t : t - 0x84;
}
static uint8_t alaw(int16_t pcm) {
    int sign = pcm >= 0 ? 0x80 : 0, v = pcm < 0 ? (pcm == -32768 ? 32767 : -pcm) : pcm;
    int exp = 7;
    for (int mask = 0x4000; !(v & mask) && exp > 0; mask >>= 1) exp--;
    int mant = exp == 0 ? (v >> 4) & 0x0F : (v >> (exp + 3)) & 0x0F;
    return (uint8_t)((sign | exp << 4 | mant) ^ 0x55);
}
static int alaw_decode(uint8_t a) {
    a ^= 0x55;
    int t = (a & 0x0F) << 4, seg = (a & 0x70) >> 4;
    t = seg == 0 ? t + 8 : ((t + 0x108) << (seg - 1));
    return (a & 0x80) ? t : -t;
}

/* One 20 ms frame of a 400 Hz tone (eight whole periods, so frames repeat), per law. */
static uint8_t tone_u[160], tone_a[160];

/* The relay mark: samples 0-7 alternate +-12288 (the pattern), samples 8-15 carry the
   serial four bits each, as levels 2048 apart. G.711 quantises these levels to within
   512, so the mark survives PCMU <-> PCMA transcoding. */
static void write_mark(uint8_t *payload, int pcma, uint32_t serial) {
    for (int i = 0; i < 16; i++) {
        int v = i < 8 ? (i & 1 ? -12288 : 12288) : (int)((serial >> (4 * (i - 8))) & 0xF) * 2048 - 16384 + 1024;
        payload[i] = pcma ? alaw((int16_t)v) : ulaw((int16_t)v);
    }
}
/* The serial of a marked payload, or 0. */
static uint32_t read_mark(const uint8_t *payload, int n, int pcma) {
    if (n < 16) return 0;
    uint32_t serial = 0;
    for (int i = 0; i < 16; i++) {
        int v = pcma ? alaw_decode(payload[i]) : ulaw_decode(payload[i]);
        if (i < 8) {
            int want = i & 1 ? -12288 : 12288;
            if (v < want - 1024 || v > want + 1024) return 0;
        } else {
            int nib = (v + 16384) / 2048;
            if (nib < 0 || nib > 15) return 0;
            serial |= (uint32_t)nib << (4 * (i - 8));
        }
    }
    return serial;
}

static void relay_sample(const uint8_t *payload, int n, int pt, uint64_t t) {
    if (pt != 0 && pt != 8) return;
    uint32_t serial = read_mark(payload, n, pt == 8);
    if (!serial) return;
    struct mark *m = &marks[serial & (MARKS - 1)];
    if (m->serial != serial || t < m->sent_ns) return;
    uint64_t d = t - m->sent_ns, b = d / BUCKET_NS;
    relay_hist[b < BUCKETS ? b : BUCKETS - 1]++;
    relay_samples++;
    if (d > relay_max_ns) relay_max_ns = d;
    m->serial = 0; /* one sample per packet */
}

static uint64_t now_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct stream *lookup(uint32_t sock, uint32_t addr, uint16_t port, uint32_t ssrc) {
    uint32_t h = (addr * 2654435761u) ^ (port * 40503u) ^ (ssrc * 2246822519u) ^ (sock * 97u);
    for (uint32_t i = 0; i < TABLE; i++) {
        struct stream *s = &streams[(h + i) & (TABLE - 1)];
        if (!s->used) {
            s->used = 1; s->sock = sock; s->addr = addr; s->port = port; s->ssrc = ssrc;
            s->tx_ssrc = (uint32_t)random(); s->tx_seq = (uint16_t)random();
            nstreams++;
            if (nactive < TABLE) active[nactive++] = s;
            return s;
        }
        if (s->sock == sock && s->addr == addr && s->port == port && s->ssrc == ssrc) return s;
    }
    return NULL;
}

static int is_silence(const uint8_t *p, int n) {
    for (int i = 0; i < n; i++)
        if (p[i] != 0xFF && p[i] != 0x7F && p[i] != 0xD5 && p[i] != 0x55) return 0;
    return 1;
}

static void account(uint32_t sock, const uint8_t *d, int len, const struct sockaddr_in *from, uint64_t t) {
    if (len < 12 || (d[0] >> 6) != 2) { malformed++; return; }
    uint16_t seq = (uint16_t)(d[2] << 8 | d[3]);
    uint32_t ssrc = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11];
    int cc = d[0] & 0x0F, off = 12 + 4 * cc, pt = d[1] & 0x7F;
    struct stream *s = lookup(sock, from->sin_addr.s_addr, from->sin_port, relay_mode ? 0 : ssrc);
    if (!s) return;
    total_packets++;
    if (relay_mode) {
        if (pt == 0 || pt == 8) s->tx_pt = (uint8_t)pt;
        if (len > off) relay_sample(d + off, len - off, pt, t);
    }
    /* --relay: a new talker relayed in (another SSRC) starts its own sequence numbers. */
    int new_talker = relay_mode && s->packets > 0 && ssrc != s->rx_ssrc;
    s->rx_ssrc = ssrc;
    if (s->packets == 0) {
        s->first_ns = t;
    } else {
        if ((uint16_t)(seq - s->last_seq) != 1 && !new_talker) s->seq_gaps++;
        uint64_t gap = t > s->last_ns ? t - s->last_ns : 0;
        uint64_t b = gap / BUCKET_NS;
        hist[b < BUCKETS ? b : BUCKETS - 1]++;
        gaps_counted++;
        if (gap > max_gap_ns) max_gap_ns = gap;
    }
    if (!s->spoke && (d[1] & 0x7F) < 96 && len > off && (srtp_tx || !is_silence(d + off, len - off))) {
        s->spoke = 1;
        s->speech_ns = t;
    }
    s->packets++;
    s->last_seq = seq;
    s->last_ns = t;
}

/* Uniform in [-jitter, +jitter]. */
static int64_t jitter(void) {
    if (!jitter_ns) return 0;
    return (int64_t)((uint64_t)random() % (2 * jitter_ns + 1)) - (int64_t)jitter_ns;
}

/* Spread arrival: whether stream s sends at time t (and moves it along its grid). A new
   stream gets its phase: its grid starts a random 0-20 ms from now. */
static int due(struct stream *s, uint64_t t) {
    if (!s->tx_grid_ns) {
        s->tx_grid_ns = t + (uint64_t)random() % 20000000ull;
        s->tx_due_ns = (uint64_t)((int64_t)s->tx_grid_ns + jitter());
    }
    if (t < s->tx_due_ns) return 0;
    s->tx_grid_ns += 20000000ull;
    if (s->tx_grid_ns + 20000000ull < t) s->tx_grid_ns = t;  /* fell far behind (paused): resync */
    s->tx_due_ns = (uint64_t)((int64_t)s->tx_grid_ns + jitter());
    return 1;
}

/* The callers' voice: batch arrival wakes every 20 ms and sends every stream's packet in
   sendmmsg batches; spread arrival wakes every tick and sends the packets due by then, one
   system call each. */
static void *sender(void *arg) {
    (void)arg;
    static uint8_t pkts[BATCH][172 + SRTP_MAX_TRAILER_LEN];
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    static struct sockaddr_in to[BATCH];
    static struct stream *who[BATCH];
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t tick = spread ? tick_ns : 20000000;
    while (!stop_flag) {
        next.tv_nsec += (long)tick;
        if (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
        uint64_t t = now_real();
        /* The tick's due time on the real-time clock (batch arrival's packets are due then). */
        uint64_t woke = now_mono_ns(), due_tick = (uint64_t)next.tv_sec * 1000000000ull + (uint64_t)next.tv_nsec;
        uint64_t t0 = t - (woke > due_tick ? woke - due_tick : 0);
        pthread_mutex_lock(&lock);
        int n = 0;
        for (uint32_t i = 0; i < nactive; i++) {
            struct stream *s = active[i];
            if (!s->pinned && t > s->last_ns + 2000000000ull) { active[i--] = active[--nactive]; continue; }
            /* A bridge leg may be quiet for a moment (the dial after a prompt, a re-INVITE):
               --relay keeps talking for 1 s, as a phone would, or neither side of a
               relay that only forwards would ever speak first. */
            if (!s->pinned && t > s->last_ns + (relay_mode ? 1000000000ull : 100000000ull)) continue;
            uint64_t due_ns = spread ? s->tx_due_ns : t0;
            if (spread && !due(s, t)) continue;
            uint64_t at = now_real();
            if (at > due_ns && due_ns) {
                uint64_t late = at - due_ns, b = late / BUCKET_NS;
                late_hist[b < BUCKETS ? b : BUCKETS - 1]++;
                if (late > late_max_ns) late_max_ns = late;
            } else {
                late_hist[0]++;
            }
            late_samples++;
            uint8_t *p = pkts[n];
            p[0] = 0x80; p[1] = (uint8_t)((s->tx_packets == 0 ? 0x80 : 0x00) | s->tx_pt);
            p[2] = s->tx_seq >> 8; p[3] = s->tx_seq & 0xFF;
            p[4] = s->tx_ts >> 24; p[5] = s->tx_ts >> 16; p[6] = s->tx_ts >> 8; p[7] = s->tx_ts;
            p[8] = s->tx_ssrc >> 24; p[9] = s->tx_ssrc >> 16; p[10] = s->tx_ssrc >> 8; p[11] = s->tx_ssrc;
            memcpy(p + 12, s->tx_pt == 8 ? tone_a : tone_u, 160);
            if (relay_mode) {
                uint32_t serial = next_serial++;
                if (!next_serial) next_serial = 1;
                write_mark(p + 12, s->tx_pt == 8, serial);
                /* Stamped now: the send follows at once (spread) or within this batch. */
                marks[serial & (MARKS - 1)] = (struct mark){serial, at};
            }
            int len = 172;
            if (srtp_tx && srtp_protect(srtp_tx, p, &len) != srtp_err_status_ok) continue;
            memset(&to[n], 0, sizeof to[n]);
            to[n].sin_family = AF_INET; to[n].sin_addr.s_addr = s->addr; to[n].sin_port = s->port;
            iov[n].iov_base = p; iov[n].iov_len = (size_t)len;
            memset(&msgs[n], 0, sizeof msgs[n]);
            msgs[n].msg_hdr.msg_name = &to[n]; msgs[n].msg_hdr.msg_namelen = sizeof to[n];
            msgs[n].msg_hdr.msg_iov = &iov[n]; msgs[n].msg_hdr.msg_iovlen = 1;
            who[n] = s;
            s->tx_seq++; s->tx_ts += 160;
            if (nfds > 1 || spread) { /* separate senders: nothing to batch across */
                if (sendmsg(fds[nfds > 1 ? s->sock : 0], &msgs[n].msg_hdr, 0) > 0) s->tx_packets++;
                continue;
            }
            if (++n == BATCH) {
                int sent = sendmmsg(fds[0], msgs, n, 0);
                for (int k = 0; k < sent; k++) who[k]->tx_packets++;
                n = 0;
            }
        }
        if (n) {
            int sent = sendmmsg(fds[0], msgs, n, 0);
            for (int k = 0; k < sent; k++) who[k]->tx_packets++;
        }
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static double pct_of(const uint64_t *h, uint64_t count, uint64_t max_ns, double p) {
    if (!count) return -1;
    uint64_t want = (uint64_t)((double)count * p), seen = 0;
    for (uint32_t b = 0; b < BUCKETS; b++) {
        seen += h[b];
        if (seen > want) return (double)(b * BUCKET_NS + BUCKET_NS / 2) / 1e6;
    }
    return (double)max_ns / 1e6;
}
static double pct(double p) { return pct_of(hist, gaps_counted, max_gap_ns, p); }

/* --srtp-key: decodes the 30-octet master key and salt and makes the outbound session. */
static int start_srtp(const char *b64) {
    static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t key[30];
    int n = 0, bits = 0;
    uint32_t acc = 0;
    for (const char *c = b64; *c && *c != '='; c++) {
        const char *at = strchr(abc, *c);
        if (!at) { fprintf(stderr, "rtp_meter: --srtp-key is not base64\n"); return -1; }
        acc = acc << 6 | (uint32_t)(at - abc); bits += 6;
        if (bits >= 8) { bits -= 8; if (n == 30) { n++; break; } key[n++] = (uint8_t)(acc >> bits); }
    }
    if (n != 30) { fprintf(stderr, "rtp_meter: --srtp-key must be 30 octets (AES_CM_128 key and salt)\n"); return -1; }
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    srtp_crypto_policy_set_rtp_default(&policy.rtp);   /* AES_CM_128_HMAC_SHA1_80 */
    srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    policy.key = key;
    policy.ssrc.type = ssrc_any_outbound;
    policy.window_size = 128;
    if (srtp_init() != srtp_err_status_ok || srtp_create(&srtp_tx, &policy) != srtp_err_status_ok) {
        fprintf(stderr, "rtp_meter: libsrtp refused the key\n");
        return -1;
    }
    return 0;
}

/* --targets: "PORT PT" per line, streams to 127.0.0.1:PORT sent to from the start. */
static int load_targets(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror("rtp_meter: --targets"); return -1; }
    int port, pt, n = 0;
    while (fscanf(f, "%d %d", &port, &pt) == 2) {
        if (port < 1 || port > 65535 || (pt != 0 && pt != 8)) { fprintf(stderr, "rtp_meter: bad target %d %d\n", port, pt); fclose(f); return -1; }
        struct stream *s = lookup(0, htonl(INADDR_LOOPBACK), htons((uint16_t)port), 0);
        if (!s) { fclose(f); return -1; }
        s->pinned = 1; s->tx_pt = (uint8_t)pt; s->last_ns = now_real();
        n++;
    }
    int bad = !feof(f);
    fclose(f);
    if (bad) { fprintf(stderr, "rtp_meter: %s: not \"PORT PT\" lines\n", path); return -1; }
    return n;
}

int main(int argc, char **argv) {
    int port = 0, send_mode = 0;
    double seconds = 10;
    const char *out = NULL, *streams_out = NULL, *targets = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--streams") && i + 1 < argc) streams_out = argv[++i];
        else if (!strcmp(argv[i], "--send")) send_mode = 1;
        else if (!strcmp(argv[i], "--relay")) relay_mode = 1;
        else if (!strcmp(argv[i], "--targets") && i + 1 < argc) targets = argv[++i];
        else if (!strcmp(argv[i], "--arrival") && i + 1 < argc) {
            const char *a = argv[++i];
            if (!strcmp(a, "spread")) spread = 1;
            else if (!strcmp(a, "batch")) spread = 0;
            else { fprintf(stderr, "rtp_meter: --arrival spread|batch, got '%s'\n", a); return 2; }
        }
        else if (!strcmp(argv[i], "--tick-us") && i + 1 < argc) {
            int us = atoi(argv[++i]);
            if (us < 20 || us > 5000) { fprintf(stderr, "rtp_meter: --tick-us must be 20-5000\n"); return 2; }
            tick_ns = (uint64_t)us * 1000;
        }
        else if (!strcmp(argv[i], "--jitter-ms") && i + 1 < argc) {
            double j = atof(argv[++i]);
            if (j < 0 || j > 10) { fprintf(stderr, "rtp_meter: --jitter-ms must be 0-10\n"); return 2; }
            jitter_ns = (uint64_t)(j * 1e6);
        }
        else if (!strcmp(argv[i], "--srtp-key") && i + 1 < argc) {
            if (start_srtp(argv[++i]) != 0) return 2;
        }
        else if (!strcmp(argv[i], "--ports") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d:%d", &base_port, &nfds) != 2 || nfds < 1) { fprintf(stderr, "rtp_meter: --ports BASE:COUNT\n"); return 2; }
            port = base_port;
        }
        else { fprintf(stderr, "usage: rtp_meter --port P|--ports BASE:COUNT --seconds S --out F [--streams F] [--send] "
                           "[--arrival spread|batch] [--jitter-ms J] [--tick-us T] [--relay] [--targets F] [--srtp-key BASE64]\n"); return 2; }
    }
    if (!port || !out) { fprintf(stderr, "rtp_meter: --port and --out are required\n"); return 2; }
    streams = calloc(TABLE, sizeof *streams);
    hist = calloc(BUCKETS, sizeof *hist);
    late_hist = calloc(BUCKETS, sizeof *late_hist);
    active = calloc(TABLE, sizeof *active);
    for (int i = 0; i < 160; i++) {
        int16_t v = (int16_t)(8000 * sin(2 * M_PI * 400 * i / 8000.0));
        tone_u[i] = ulaw(v); tone_a[i] = alaw(v);
    }
    srandom((unsigned)now_real());
    if (relay_mode) { marks = calloc(MARKS, sizeof *marks); relay_hist = calloc(BUCKETS, sizeof *relay_hist); }
    if (targets && (!relay_mode || !send_mode || nfds > 1)) { fprintf(stderr, "rtp_meter: --targets needs --send --relay and one --port\n"); return 2; }
    if (targets && load_targets(targets) < 0) return 1;

    fds = calloc((size_t)nfds, sizeof *fds);
    int ep = epoll_create1(0);
    for (int k = 0; k < nfds; k++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        int rcv = nfds > 1 ? 256 << 10 : 64 << 20, on = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcv, sizeof rcv);
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(port + k))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("rtp_meter: bind"); return 1; }
        /* One socket is read without epoll: an epoll registration is a waiter on the
           socket, and every datagram would then take its wait-queue lock. */
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)k};
        if (nfds > 1) epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        fds[k] = fd;
    }

    pthread_t tx;
    if (send_mode) pthread_create(&tx, NULL, sender, NULL);

    static uint8_t bufs[BATCH][BUF];
    static char ctl[BATCH][64];
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    static struct sockaddr_in from[BATCH];
    static struct epoll_event evs[1024];
    uint64_t end = now_real() + (uint64_t)(seconds * 1e9);
    /* Never blocks on the sockets: it drains what is ready, then sleeps 1 ms. A receiver
       asleep on its socket makes every sender pay a wake-up per datagram (on loopback the
       sender's system call runs the whole delivery), which a real caller across a network
       never costs the daemon. Arrival times come from the kernel, so reading late is fine. */
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    while (now_real() < end) {
        int ready = nfds > 1 ? epoll_wait(ep, evs, 1024, 0) : 1, got = 0;
        if (nfds == 1) evs[0].data.u32 = 0;
        for (int e = 0; e < ready; e++) {
            uint32_t k = evs[e].data.u32;
            for (int i = 0; i < BATCH; i++) {
                iov[i].iov_base = bufs[i]; iov[i].iov_len = BUF;
                memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
                msgs[i].msg_hdr.msg_name = &from[i]; msgs[i].msg_hdr.msg_namelen = sizeof from[i];
                msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
                msgs[i].msg_hdr.msg_control = ctl[i]; msgs[i].msg_hdr.msg_controllen = sizeof ctl[i];
            }
            int n = recvmmsg(fds[k], msgs, nfds > 1 ? 16 : BATCH, MSG_DONTWAIT, NULL);
            if (n > 0) got += n;
            pthread_mutex_lock(&lock);
            for (int i = 0; i < n; i++) {
                uint64_t t = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                        struct timespec ts;
                        memcpy(&ts, CMSG_DATA(c), sizeof ts);
                        t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
                    }
                if (!t) t = now_real();
                account(k, bufs[i], (int)msgs[i].msg_len, &from[i], t);
            }
            pthread_mutex_unlock(&lock);
        }
        if (got < BATCH / 2) nanosleep(&pause, NULL);
    }
    stop_flag = 1;
    if (send_mode) pthread_join(tx, NULL);

    uint64_t seq_gaps = 0, tx_total = 0;
    FILE *sf = streams_out ? fopen(streams_out, "w") : NULL;
    if (sf) fprintf(sf, "meter_port\tsrc_port\tssrc\tfirst_ns\tspeech_ns\tlast_ns\tpackets\tseq_gaps\tsent\n");
    for (uint32_t i = 0; i < TABLE; i++) {
        struct stream *s = &streams[i];
        if (!s->used) continue;
        seq_gaps += s->seq_gaps;
        tx_total += s->tx_packets;
        if (sf)
            fprintf(sf, "%u\t%u\t%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n", (unsigned)(port + (int)s->sock), ntohs(s->port), s->ssrc,
                    (unsigned long long)s->first_ns, (unsigned long long)s->speech_ns, (unsigned long long)s->last_ns,
                    (unsigned long long)s->packets, (unsigned long long)s->seq_gaps, (unsigned long long)s->tx_packets);
    }
    if (sf) fclose(sf);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    FILE *f = fopen(out, "w");
    if (!f) { perror("rtp_meter: out"); return 1; }
    fprintf(f, "{\"packets\": %llu, \"streams\": %llu, \"seq_gaps\": %llu, \"malformed\": %llu, \"sent\": %llu, "
               "\"gap_ms_p50\": %.2f, \"gap_ms_p99\": %.2f, \"gap_ms_max\": %.2f, \"cpu_s\": %.3f, "
               "\"arrival\": \"%s\", \"jitter_ms\": %.1f",
            (unsigned long long)total_packets, (unsigned long long)nstreams, (unsigned long long)seq_gaps,
            (unsigned long long)malformed, (unsigned long long)tx_total, pct(0.50), pct(0.99),
            (double)max_gap_ns / 1e6, cpu, spread ? "spread" : "batch", (double)jitter_ns / 1e6);
    if (send_mode)
        fprintf(f, ", \"send_late_ms_p50\": %.2f, \"send_late_ms_p99\": %.2f, \"send_late_ms_max\": %.2f",
                pct_of(late_hist, late_samples, late_max_ns, 0.50), pct_of(late_hist, late_samples, late_max_ns, 0.99),
                (double)late_max_ns / 1e6);
    if (relay_mode)
        fprintf(f, ", \"relay_samples\": %llu, \"relay_ms_p50\": %.2f, \"relay_ms_p99\": %.2f, \"relay_ms_max\": %.2f",
                (unsigned long long)relay_samples, pct_of(relay_hist, relay_samples, relay_max_ns, 0.50),
                pct_of(relay_hist, relay_samples, relay_max_ns, 0.99), (double)relay_max_ns / 1e6);
    fprintf(f, "}\n");
    fclose(f);
    return 0;
}
