/// Fixed-argument C bridge over Sofia-SIP's nua.
///
/// Sofia's API is built on C-variadic tag lists and macro-generated tag globals, neither
/// of which Swift can call or address. Every nua call the daemon needs is wrapped here in
/// a plain function; events are flattened into `tf_sip_event_t` so Swift never walks a
/// `sip_t`. Only the Signaling module imports this header.
#ifndef TF_SOFIA_H
#define TF_SOFIA_H

#include <sys/types.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tf_sip tf_sip_t;

/// Event kinds the daemon cares about (a subset of nua_event_t, renumbered so Swift
/// does not depend on Sofia's enum values).
typedef enum {
    TF_EV_OTHER = 0,
    TF_EV_INCOMING_INVITE = 1,   /* initial INVITE or re-INVITE (handle_magic != NULL) */
    TF_EV_INCOMING_ACK = 2,
    TF_EV_INCOMING_CANCEL = 3,
    TF_EV_INCOMING_BYE = 4,
    TF_EV_STATE = 5,             /* call state changed; see callstate */
    TF_EV_BYE_RESPONSE = 6,      /* response to our BYE */
    TF_EV_SHUTDOWN_DONE = 7,
    TF_EV_INCOMING_OPTIONS = 8,
    TF_EV_ERROR = 9,
    TF_EV_INCOMING_INFO = 10,
    TF_EV_INCOMING_MESSAGE = 11,
    TF_EV_INVITE_RESPONSE = 12,  /* response to our INVITE (outbound leg) */
    TF_EV_INCOMING_REQUEST = 13, /* another request nua hands over with a new handle (REGISTER, SUBSCRIBE...) */
} tf_event_kind_t;

/// Call states, mapped from nua_callstate in the bridge (Sofia's numbering is not relied on).
typedef enum {
    TF_CS_INIT = 0, TF_CS_CALLING, TF_CS_PROCEEDING, TF_CS_COMPLETING,
    TF_CS_RECEIVED, TF_CS_EARLY, TF_CS_COMPLETED, TF_CS_READY, TF_CS_TERMINATING,
    TF_CS_TERMINATED
} tf_callstate_t;

/// A flattened nua event. Every pointer is valid only during the callback.
typedef struct {
    int kind;                 /* tf_event_kind_t */
    int nua_event;            /* raw nua_event_t, for logging */
    int status;
    const char *phrase;
    void *handle;             /* nua_handle_t*, opaque */
    void *handle_magic;       /* value given to tf_sip_bind, or NULL */
    int callstate;            /* tf_callstate_t for TF_EV_STATE, else -1 */
    int has_sip;
    const char *call_id;
    const char *request_user; /* Request-URI user part (may include ;params) */
    const char *from_user;
    const char *from_display; /* From display name as received (quotes included), or NULL */
    const char *diversion;    /* first Diversion header value (RFC 5806), or NULL */
    const char *history_info; /* first History-Info header value (RFC 7044), or NULL */
    const char *content_type; /* "type/subtype" without parameters */
    const char *payload;
    size_t payload_len;
    const char *priority;     /* Priority header value */
    const char *resource_priority; /* every Resource-Priority value, comma-joined (header lines may repeat) */
    char source[64];          /* source "ip:port" ("[ip6]:port") of the request, if known */
    const char *auth_scheme;  /* 401/407: challenge scheme ("Digest") */
    const char *auth_realm;   /* 401/407: realm parameter as received, quotes included */
    const char *charset;      /* charset parameter of Content-Type (unquoted text), or NULL */
    const char *transport;    /* protocol of the top Via of a request, e.g. "SIP/2.0/TLS" */
    int contact_ok;           /* a request's Contact is one sip:/sips: URI with a host */
    char rp_buf[256];         /* storage behind resource_priority */
} tf_sip_event_t;

typedef void (*tf_sip_event_cb)(void *magic, const tf_sip_event_t *event);
typedef void (*tf_sip_task_cb)(void *arg);

/// Initialise Sofia's library state (su_init) once per process.
int tf_sip_global_init(void);

/// Creates the root and the nua agent bound to `bind_url` (e.g. "sip:127.0.0.1:5060").
/// Must be called on the thread that will call tf_sip_run. Returns NULL and fills
/// `err` on failure (for example when the address is in use).
/// With `tls_url` (e.g. "sips:127.0.0.1:5061") and `cert_dir` (holding agent.pem, the key
/// and certificate, and cafile.pem) it also listens for SIP over TLS.
/// `max_message` is the largest SIP message accepted (larger ones get 513 and are not
/// kept); 0 keeps Sofia's default.
tf_sip_t *tf_sip_create(const char *bind_url, const char *tls_url, const char *cert_dir,
                        const char *user_agent, size_t max_message,
                        tf_sip_event_cb cb, void *magic, char *err, size_t errlen);

/// Runs the event loop until tf_sip_break; returns when the loop stops.
void tf_sip_run(tf_sip_t *sip);
/// Stops the loop (root thread only).
void tf_sip_break(tf_sip_t *sip);
/// Starts nua shutdown; TF_EV_SHUTDOWN_DONE follows (root thread only).
void tf_sip_shutdown(tf_sip_t *sip);
/// Frees nua and the root (root thread, after the loop stopped).
void tf_sip_destroy(tf_sip_t *sip);

/// Runs `fn(arg)` on the root thread. Safe to call from any thread. Returns 0 on success.
int tf_sip_post(tf_sip_t *sip, tf_sip_task_cb fn, void *arg);
/// Runs `fn(arg)` on the root thread after `ms` milliseconds (root thread only).
/// Returns an opaque timer to pass to tf_sip_timer_cancel, or NULL.
void *tf_sip_timer_start(tf_sip_t *sip, unsigned ms, tf_sip_task_cb fn, void *arg);
/// Cancels a pending timer; returns its arg so the caller can release it, or NULL if it
/// already fired.
void *tf_sip_timer_cancel(tf_sip_t *sip, void *timer);

/// Attaches a value to a handle; it comes back as handle_magic on later events.
void tf_sip_bind(void *handle, void *magic);
/// Sends a response on the handle's current server transaction. `sdp` may be NULL.
/// `extra_headers` may be NULL or "Name: value\r\nName: value". The reason phrase is
/// Sofia's standard phrase for `status` (Sofia keeps the pointer, so no caller strings).
void tf_sip_respond(void *handle, int status, const char *sdp, const char *extra_headers);
/// Responds to the request that triggered the current event (nua_respond with the
/// event's own message), used for OPTIONS and for requests arriving with a new handle.
void tf_sip_bye(void *handle);
/// Responds to the request of the event being delivered right now (NUTAG_WITH_THIS), for
/// requests nua hands to the application without a dialog (MESSAGE). Only valid inside
/// the event callback.
void tf_sip_respond_current(tf_sip_t *sip, void *handle, int status, const char *extra_headers);
/// Places an outbound call: INVITE to `request_uri` with `from` and `to` header values
/// (e.g. "\"+15551230000\" <sip:+15551230000@127.0.0.1:5060>"), the SDP offer `sdp`
/// and optional extra header lines. Returns the new handle, already bound to itself (its
/// events carry handle_magic), or NULL.
void *tf_sip_invite(tf_sip_t *sip, const char *request_uri, const char *from, const char *to,
                    const char *call_id, const char *sdp, const char *extra_headers);
/// CANCELs an outbound INVITE that has no final response yet.
void tf_sip_cancel(void *handle);
/// Answers a 401/407 challenge with digest credentials; nua re-sends the request.
void tf_sip_authenticate(void *handle, const char *scheme, const char *realm,
                         const char *user, const char *password);
/// Releases a handle once the call is terminated.
void tf_sip_handle_destroy(void *handle);

#ifdef __cplusplus
}
#endif
#endif
