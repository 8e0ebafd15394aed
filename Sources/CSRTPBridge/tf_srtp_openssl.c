// AES-128 counter mode and HMAC-SHA1 for libsrtp2 from OpenSSL's libcrypto.
//
// Debian builds libsrtp2 on NSS, whose PKCS#11 soft token makes a context and takes its
// locks for every packet: measured at 400 SRTP calls, NSS was 44 % of the daemon's CPU
// samples and its lock hand-offs another 12 % (futex wake-ups), against 4 % for the
// ciphers themselves. libsrtp lets a program replace a crypto type by id
// (srtp_replace_cipher_type / srtp_replace_auth_type); these are the types libsrtp's own
// OpenSSL build uses (aes_icm_ossl.c, hmac_ossl.c), reduced to the two SDES suites need:
// the AES key and counter set once per packet on a context made once per stream. libsrtp
// keeps the protocol (key derivation, packet index, replay window, tags); each
// replacement must first pass libsrtp's own test vectors, or it is not installed.
#include "tf_srtp.h"
#include <stdlib.h>
#include <string.h>
#include <srtp2/srtp.h>
#include <srtp2/cipher.h>
#include <srtp2/auth.h>
#include <srtp2/crypto_types.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

// libsrtp's known-answer tests, exported by libsrtp2.so.
extern const srtp_cipher_test_case_t srtp_aes_icm_128_test_case_0;
extern const srtp_auth_test_case_t srtp_hmac_test_case_0;

#define AES_KEY_LEN 16
#define SALT_LEN 14

typedef struct {
    uint8_t salt[16];      // the session salt in bytes 0-13, zero after
    EVP_CIPHER_CTX *ctx;
} tf_aes_icm;

static const srtp_cipher_type_t tf_aes_icm_128;

static srtp_err_status_t aes_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len) {
    (void)tag_len;
    if (key_len != AES_KEY_LEN + SALT_LEN) return srtp_err_status_bad_param;
    srtp_cipher_t *c = calloc(1, sizeof *c);
    tf_aes_icm *s = calloc(1, sizeof *s);
    if (!c || !s || !(s->ctx = EVP_CIPHER_CTX_new())) { free(c); free(s); return srtp_err_status_alloc_fail; }
    c->type = &tf_aes_icm_128;
    c->state = s;
    c->key_len = key_len;
    c->algorithm = SRTP_AES_ICM_128;
    *cp = c;
    return srtp_err_status_ok;
}

static srtp_err_status_t aes_dealloc(srtp_cipher_pointer_t c) {
    tf_aes_icm *s = c->state;
    EVP_CIPHER_CTX_free(s->ctx);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
    free(c);
    return srtp_err_status_ok;
}

static srtp_err_status_t aes_init(void *state, const uint8_t *key) {
    tf_aes_icm *s = state;
    memset(s->salt, 0, sizeof s->salt);
    memcpy(s->salt, key + AES_KEY_LEN, SALT_LEN);
    if (!EVP_EncryptInit_ex(s->ctx, EVP_aes_128_ctr(), NULL, key, NULL)) return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

// The counter block is the salt XOR the packet's IV; the block counter is its last 16 bits,
// which OpenSSL's 128-bit big-endian counter increments the same way for any packet.
static srtp_err_status_t aes_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir) {
    (void)dir;
    tf_aes_icm *s = state;
    uint8_t counter[16];
    for (int i = 0; i < 16; i++) counter[i] = s->salt[i] ^ iv[i];
    if (!EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, counter)) return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t aes_crypt(void *state, uint8_t *buf, unsigned int *octets) {
    tf_aes_icm *s = state;
    int len = 0;
    if (!EVP_EncryptUpdate(s->ctx, buf, &len, buf, (int)*octets)) return srtp_err_status_cipher_fail;
    *octets = (unsigned int)len;
    return srtp_err_status_ok;
}

static const srtp_cipher_type_t tf_aes_icm_128 = {
    aes_alloc, aes_dealloc, aes_init, NULL, aes_crypt, aes_crypt, aes_set_iv, NULL,
    "AES-128 counter mode (OpenSSL)", &srtp_aes_icm_128_test_case_0, SRTP_AES_ICM_128,
};

static EVP_MAC *hmac;   // fetched once
static const srtp_auth_type_t tf_hmac_sha1;

static srtp_err_status_t mac_alloc(srtp_auth_pointer_t *ap, int key_len, int out_len) {
    if (key_len < 0 || key_len > 20 || out_len < 0 || out_len > 20) return srtp_err_status_bad_param;
    srtp_auth_t *a = calloc(1, sizeof *a);
    EVP_MAC_CTX *ctx = a ? EVP_MAC_CTX_new(hmac) : NULL;
    if (!ctx) { free(a); return srtp_err_status_alloc_fail; }
    a->type = &tf_hmac_sha1;
    a->state = ctx;
    a->out_len = out_len;
    a->key_len = key_len;
    a->prefix_len = 0;
    *ap = a;
    return srtp_err_status_ok;
}

static srtp_err_status_t mac_dealloc(srtp_auth_pointer_t a) {
    EVP_MAC_CTX_free(a->state);
    free(a);
    return srtp_err_status_ok;
}

static srtp_err_status_t mac_init(void *state, const uint8_t *key, int key_len) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0), OSSL_PARAM_construct_end()};
    return EVP_MAC_init(state, key, (size_t)key_len, params) ? srtp_err_status_ok : srtp_err_status_init_fail;
}

// A new packet: the keyed state again (OpenSSL keeps the key's pads).
static srtp_err_status_t mac_start(void *state) {
    return EVP_MAC_init(state, NULL, 0, NULL) ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

static srtp_err_status_t mac_update(void *state, const uint8_t *buf, int octets) {
    return EVP_MAC_update(state, buf, (size_t)octets) ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

static srtp_err_status_t mac_compute(void *state, const uint8_t *buf, int octets, int tag_len, uint8_t *tag) {
    uint8_t full[20];
    size_t n = 0;
    if (tag_len > 20 || !EVP_MAC_update(state, buf, (size_t)octets) || !EVP_MAC_final(state, full, &n, sizeof full) || n != 20)
        return srtp_err_status_auth_fail;
    memcpy(tag, full, (size_t)tag_len);
    return srtp_err_status_ok;
}

static const srtp_auth_type_t tf_hmac_sha1 = {
    mac_alloc, mac_dealloc, mac_init, mac_compute, mac_update, mac_start,
    "HMAC-SHA1 (OpenSSL)", &srtp_hmac_test_case_0, SRTP_HMAC_SHA1,
};

int tf_srtp_use_openssl(void) {
    if (!hmac && !(hmac = EVP_MAC_fetch(NULL, "HMAC", NULL))) return -1;
    if (srtp_replace_cipher_type(&tf_aes_icm_128, SRTP_AES_ICM_128) != srtp_err_status_ok) return -2;
    if (srtp_replace_auth_type(&tf_hmac_sha1, SRTP_HMAC_SHA1) != srtp_err_status_ok) return -3;
    return 0;
}
