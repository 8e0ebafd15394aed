/// A thin bridge over libsrtp2: its crypto-policy setters are partly macros and its policy
/// structure holds pointers, so contexts are made here from plain values.
#ifndef TF_SRTP_H
#define TF_SRTP_H
#include <stdint.h>

/// Master key and salt of the AES-CM-128 suites (RFC 4568 6.2: 16 + 14 octets).
#define TF_SRTP_KEY_SALT_LENGTH 30
/// The most octets protecting may write after a packet: libsrtp's SRTP_MAX_TRAILER_LEN (tag
/// and MKI, 144) and the SRTCP index (4). Buffers keep this much spare.
#define TF_SRTP_MAX_TRAILER 148

/// Initialises libsrtp once (safe to call from any thread, any number of times).
/// Returns 0 on success.
int tf_srtp_init(void);

/// Puts OpenSSL's AES-128-CTR and HMAC-SHA1 in place of libsrtp's own crypto types
/// (tf_srtp_openssl.c); called once by tf_srtp_init. 0 on success, negative when a
/// replacement was refused (libsrtp then keeps its own, which work, only slower).
int tf_srtp_use_openssl(void);
/// What tf_srtp_use_openssl returned (initialising libsrtp first).
int tf_srtp_openssl_status(void);

/// Makes a context for one direction of a session. `suite`: 80 or 32 (the RTP tag's bits
/// of AES_CM_128_HMAC_SHA1_80/_32; SRTCP always uses 80 bits, RFC 4568 6.2.2). `inbound`:
/// 1 to unprotect what the peer sends, 0 to protect what we send. `replay_window`: packets
/// (inbound). `allow_repeat`: accept resending a sequence number (a relay passing on a
/// peer's duplicate). Returns NULL on failure with the libsrtp status in `*status`.
void *tf_srtp_create(int suite, const uint8_t key[TF_SRTP_KEY_SALT_LENGTH], int inbound,
                     int replay_window, int allow_repeat, int *status);
void tf_srtp_destroy(void *ctx);

/// In place: `*length` is updated. The buffer must have TF_SRTP_MAX_TRAILER octets spare
/// after the packet when protecting. Return 0 on success, else libsrtp's status.
int tf_srtp_protect(void *ctx, uint8_t *packet, int *length);
int tf_srtp_unprotect(void *ctx, uint8_t *packet, int *length);
int tf_srtp_protect_rtcp(void *ctx, uint8_t *packet, int *length);
int tf_srtp_unprotect_rtcp(void *ctx, uint8_t *packet, int *length);

#endif
