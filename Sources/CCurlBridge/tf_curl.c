#include "tf_curl.h"
#include <string.h>

#define SET(option, value) do { CURLcode c = curl_easy_setopt(easy, option, value); if (c != CURLE_OK) return c; } while (0)

CURLcode tf_curl_configure(CURL *easy, const tf_curl_request *r) {
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 10L);
    SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body_bytes);
    SET(CURLOPT_HTTPHEADER, r->headers);
    SET(CURLOPT_WRITEFUNCTION, r->on_body);
    SET(CURLOPT_WRITEDATA, r->context);
    SET(CURLOPT_PRIVATE, r->context);
    SET(CURLOPT_ERRORBUFFER, r->error_buffer);
    if (strcmp(r->method, "POST") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_length : 0));
        SET(CURLOPT_COPYPOSTFIELDS, r->body ? r->body : "");
    } else if (strcmp(r->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        SET(CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body != NULL) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_length);
            SET(CURLOPT_COPYPOSTFIELDS, r->body);
        }
    }
    return CURLE_OK;
}

long tf_curl_status(CURL *easy) {
    long status = 0;
    return curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK ? status : 0;
}

const char *tf_curl_effective_url(CURL *easy) {
    char *url = NULL;
    return curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK ? url : NULL;
}

const char *tf_curl_content_type(CURL *easy) {
    char *type = NULL;
    return curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK ? type : NULL;
}

void *tf_curl_context(CURL *easy) {
    void *context = NULL;
    return curl_easy_getinfo(easy, CURLINFO_PRIVATE, &context) == CURLE_OK ? context : NULL;
}

int tf_curl_done(CURLMsg *message, CURL **easy, CURLcode *result) {
    if (message->msg != CURLMSG_DONE) return 0;
    *easy = message->easy_handle;
    *result = message->data.result;
    return 1;
}
