/// Fixed-argument wrappers over libcurl's variadic curl_easy_setopt / curl_easy_getinfo,
/// which Swift cannot call, and the one place that decides how a webhook transfer is set up.
#ifndef TF_CURL_H
#define TF_CURL_H
#include <curl/curl.h>

/// Receives body bytes, as CURLOPT_WRITEFUNCTION does: return `size * count` to go on,
/// anything else to stop the transfer (CURLE_WRITE_ERROR).
typedef size_t (*tf_curl_body_cb)(char *data, size_t size, size_t count, void *context);

/// One webhook request.
typedef struct {
    const char *url;
    /// "GET", "POST" or another method (sent with CURLOPT_CUSTOMREQUEST).
    const char *method;
    /// Request headers, "Name: value"; owned by the caller until the transfer ends.
    struct curl_slist *headers;
    /// Request body (copied by libcurl), or NULL.
    const char *body;
    long body_length;
    /// Whole transfer, connect included.
    long timeout_ms;
    /// Longest body accepted; an announced Content-Length past it is refused before the
    /// body (CURLE_FILESIZE_EXCEEDED), a body without one is stopped by `on_body`.
    long long max_body_bytes;
    tf_curl_body_cb on_body;
    void *context;
    /// Filled with libcurl's message when the transfer fails (CURL_ERROR_SIZE bytes).
    char *error_buffer;
} tf_curl_request;

/// Sets up `easy` for `request`: HTTP(S) only (redirects too, at most 10), no signals,
/// compressed answers accepted. Returns the first failing option's code, or CURLE_OK.
CURLcode tf_curl_configure(CURL *easy, const tf_curl_request *request);

/// The last response's HTTP status (0 if none).
long tf_curl_status(CURL *easy);
/// The URL of the last request after redirects (owned by libcurl), or NULL.
const char *tf_curl_effective_url(CURL *easy);
/// The last response's Content-Type (owned by libcurl), or NULL.
const char *tf_curl_content_type(CURL *easy);
/// The context pointer stored with CURLOPT_PRIVATE by tf_curl_configure.
void *tf_curl_context(CURL *easy);
/// The easy handle and result of a CURLMSG_DONE message (a union Swift reads poorly);
/// returns 0 for any other message.
int tf_curl_done(CURLMsg *message, CURL **easy, CURLcode *result);
#endif
