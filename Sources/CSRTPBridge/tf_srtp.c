#include "tf_srtp.h"
#include <pthread.h>
#include <string.h>
#include <srtp2/srtp.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_status = -1;

static int backend_status = -9;

static void init_once(void) {
    init_status = (int)srtp_init();
    if (init_status == 0) backend_status = tf_srtp_use_openssl();
}

int tf_srtp_openssl_status(void) {
    tf_srtp_init();
    return backend_status;
}

int tf_srtp_init(void) {
    pthread_once(&once, init_once);
    return init_status;
}

void *tf_srtp_create(int suite, const uint8_t key[TF_SRTP_KEY_SALT_LENGTH], int inbound,
                     int replay_window, int allow_repeat, int *status) {
    if (tf_srtp_init() != 0) { *status = init_status; return NULL; }
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    if (suite == 32) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    }
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    // libsrtp keeps its own copy of the key: `policy.key` need only live through create.
    uint8_t copy[TF_SRTP_KEY_SALT_LENGTH];
    memcpy(copy, key, sizeof copy);
    policy.key = copy;
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.window_size = (unsigned long)(replay_window >= 64 ? replay_window : 128);
    policy.allow_repeat_tx = allow_repeat ? 1 : 0;
    policy.next = NULL;
    srtp_t ctx = NULL;
    srtp_err_status_t rc = srtp_create(&ctx, &policy);
    memset(copy, 0, sizeof copy);
    *status = (int)rc;
    return rc == srtp_err_status_ok ? ctx : NULL;
}

void tf_srtp_destroy(void *ctx) {
    if (ctx) srtp_dealloc((srtp_t)ctx);
}

int tf_srtp_protect(void *ctx, uint8_t *packet, int *length) {
    return (int)srtp_protect((srtp_t)ctx, packet, length);
}

int tf_srtp_unprotect(void *ctx, uint8_t *packet, int *length) {
    return (int)srtp_unprotect((srtp_t)ctx, packet, length);
}

int tf_srtp_protect_rtcp(void *ctx, uint8_t *packet, int *length) {
    return (int)srtp_protect_rtcp((srtp_t)ctx, packet, length);
}

int tf_srtp_unprotect_rtcp(void *ctx, uint8_t *packet, int *length) {
    return (int)srtp_unprotect_rtcp((srtp_t)ctx, packet, length);
}
