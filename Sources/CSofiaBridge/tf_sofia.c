// Fixed-argument wrappers over Sofia-SIP nua. See include/tf_sofia.h.
#define _GNU_SOURCE 1 /* strcasestr */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tf_sofia.h"

#define SU_ROOT_MAGIC_T void
#define NUA_MAGIC_T void
#define NUA_HMAGIC_T void
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/nta_tag.h>
#include <stdarg.h>
#include <dirent.h>
#include <linux/filter.h>
#include <netdb.h>

struct tf_sip {
    su_root_t *root;
    nua_t *nua;
    /* "<sip:HOST:PORT>" of the plain listener, set when a TLS listener exists too and
       HOST is not a wildcard (see tf_sip_invite). */
    char plain_contact[160];
    tf_sip_event_cb cb;
    void *magic;
};

typedef struct {
    tf_sip_task_cb fn;
    void *arg;
} tf_task_t;

/* Sofia logs through su_log to stderr by default ("tport_udp_error: ..."), which would
   put unstructured lines in the journal. They are dropped unless TOLLFREED_SOFIA_LOG is
   set (for debugging), in which case they go to stderr prefixed with "sofia:". */
static void sofia_log(void *stream, char const *fmt, va_list ap) {
    (void)stream;
    if (!getenv("TOLLFREED_SOFIA_LOG")) return;
    fputs("sofia: ", stderr);
    vfprintf(stderr, fmt, ap);
}

int tf_sip_global_init(void) {
    int rc = su_init();
    su_log_redirect(NULL, sofia_log, NULL);
    return rc;
}

static int map_event(nua_event_t e) {
    switch (e) {
    case nua_i_invite: return TF_EV_INCOMING_INVITE;
    case nua_i_ack: return TF_EV_INCOMING_ACK;
    case nua_i_cancel: return TF_EV_INCOMING_CANCEL;
    case nua_i_bye: return TF_EV_INCOMING_BYE;
    case nua_i_state: return TF_EV_STATE;
    case nua_r_bye: return TF_EV_BYE_RESPONSE;
    case nua_r_shutdown: return TF_EV_SHUTDOWN_DONE;
    case nua_i_options: return TF_EV_INCOMING_OPTIONS;
    case nua_i_error: return TF_EV_ERROR;
    case nua_i_info: return TF_EV_INCOMING_INFO;
    case nua_i_message: return TF_EV_INCOMING_MESSAGE;
    case nua_r_invite: return TF_EV_INVITE_RESPONSE;
    case nua_i_register: case nua_i_subscribe: case nua_i_refer: case nua_i_notify:
    case nua_i_publish: case nua_i_method: case nua_i_update: case nua_i_prack:
        return TF_EV_INCOMING_REQUEST;
    default: return TF_EV_OTHER;
    }
}

static int map_callstate(int cs) {
    switch ((enum nua_callstate)cs) {
    case nua_callstate_init: return TF_CS_INIT;
    case nua_callstate_calling: return TF_CS_CALLING;
    case nua_callstate_proceeding: return TF_CS_PROCEEDING;
    case nua_callstate_completing: return TF_CS_COMPLETING;
    case nua_callstate_received: return TF_CS_RECEIVED;
    case nua_callstate_early: return TF_CS_EARLY;
    case nua_callstate_completed: return TF_CS_COMPLETED;
    case nua_callstate_ready: return TF_CS_READY;
    case nua_callstate_terminating: return TF_CS_TERMINATING;
    case nua_callstate_terminated: return TF_CS_TERMINATED;
    default: return -1;
    }
}

static void fill_source(tf_sip_event_t *ev, nua_t *nua) {
    msg_t *msg = nua_current_request(nua);
    if (!msg) return;
    su_addrinfo_t *ai = msg_addrinfo(msg);
    if (!ai || !ai->ai_addr) return;
    char host[48] = {0};
    int port = 0;
    if (ai->ai_addr->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ai->ai_addr;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (ai->ai_addr->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ai->ai_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    } else {
        return;
    }
    /* "[2001:db8::1]:5060" for IPv6 (RFC 5952 6): SourceFilter.host(of:) takes the
       address out of the brackets; unbracketed, the port would read as part of it. */
    snprintf(ev->source, sizeof ev->source, ai->ai_addr->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

/* A Contact we can send in-dialog requests to (the BYE after an ACK timeout goes there):
   exactly the sip: or sips: URI of RFC 3261 8.1.1.8, with a host. Sofia's ACK-timeout BYE
   dereferences a tel:, http: or '*' Contact and crashes, so such INVITEs are refused. */
static int contact_usable(sip_t const *sip) {
    sip_contact_t const *m = sip->sip_contact;
    if (!m || !m->m_url) return 0;
    url_t const *u = m->m_url;
    if (u->url_type != url_sip && u->url_type != url_sips) return 0;
    return u->url_host && *u->url_host;
}

/* Every Resource-Priority value of the request, comma-joined into ev->rp_buf (RFC 4412
   allows the header on several lines). Values that do not fit are left out. */
static void join_resource_priority(tf_sip_event_t *ev, sip_t const *sip) {
    size_t used = 0;
    for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next) {
        if (!u->un_name || strcasecmp(u->un_name, "Resource-Priority") != 0 || !u->un_value) continue;
        size_t n = strlen(u->un_value);
        if (used + n + 2 >= sizeof ev->rp_buf) break;
        if (used) { ev->rp_buf[used++] = ','; }
        memcpy(ev->rp_buf + used, u->un_value, n);
        used += n;
        ev->rp_buf[used] = 0;
    }
    if (used) ev->resource_priority = ev->rp_buf;
}

/* The first Diversion and History-Info values of a request: who forwarded the call.
   Sofia does not parse either header; both are in the unknown-header list. */
static void find_forwarding(tf_sip_event_t *ev, sip_t const *sip) {
    for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next) {
        if (!u->un_name || !u->un_value) continue;
        if (!ev->diversion && strcasecmp(u->un_name, "Diversion") == 0) ev->diversion = u->un_value;
        if (!ev->history_info && strcasecmp(u->un_name, "History-Info") == 0) ev->history_info = u->un_value;
    }
}

static void on_nua_event(nua_event_t event, int status, char const *phrase,
                         nua_t *nua, void *magic, nua_handle_t *nh, void *hmagic,
                         sip_t const *sip, tagi_t tags[]) {
    struct tf_sip *s = (struct tf_sip *)magic;
    if (!s || !s->cb) return;
    tf_sip_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = map_event(event);
    ev.nua_event = (int)event;
    ev.status = status;
    ev.phrase = phrase;
    ev.handle = nh;
    ev.handle_magic = hmagic;
    ev.callstate = -1;
    if (event == nua_i_state) {
        int cs = -1;
        tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
        ev.callstate = map_callstate(cs);
    }
    if (sip) {
        ev.has_sip = 1;
        if (sip->sip_call_id) ev.call_id = sip->sip_call_id->i_id;
        if (sip->sip_request) ev.request_user = sip->sip_request->rq_url->url_user;
        if (sip->sip_from) {
            ev.from_user = sip->sip_from->a_url->url_user;
            ev.from_display = sip->sip_from->a_display;
        }
        if (event == nua_i_invite) find_forwarding(&ev, sip);
        if (sip->sip_content_type) {
            ev.content_type = sip->sip_content_type->c_type;
            ev.charset = msg_params_find(sip->sip_content_type->c_params, "charset=");
        }
        if (sip->sip_payload) {
            ev.payload = sip->sip_payload->pl_data;
            ev.payload_len = sip->sip_payload->pl_len;
        }
        if (sip->sip_priority) ev.priority = sip->sip_priority->g_string;
        join_resource_priority(&ev, sip);
        if (sip->sip_request) ev.contact_ok = contact_usable(sip);
        if (sip->sip_request) fill_source(&ev, nua);
        if (sip->sip_request && sip->sip_via) ev.transport = sip->sip_via->v_protocol;
        if (event == nua_r_invite && (status == 401 || status == 407)) {
            msg_auth_t const *au = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
            if (au) {
                ev.auth_scheme = au->au_scheme;
                ev.auth_realm = msg_params_find(au->au_params, "realm=");
            }
        }
    }
    s->cb(s->magic, &ev);
}

/* Sofia's transport answers anything starting with byte 0 or 1 as STUN, even with its STUN
   server off ("Not Implemented"), so the SIP port reflects datagrams for anyone. SIP text
   never starts with those bytes: a socket filter drops them in the kernel. For UDP sockets
   the filter sees the UDP header first; the payload starts at offset 8. */
static void drop_stun_on_udp_port(int port) {
    static struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 8),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xFFFFFFFF),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (fd <= 2) continue;
        int type = 0;
        socklen_t tl = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM) continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) continue;
        int p = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
              : ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : -1;
        if (p == port) setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    }
    closedir(d);
}

static int tf_url_port(const char *url) {
    const char *colon = strrchr(url, ':');
    return colon ? atoi(colon + 1) : 5060;
}

tf_sip_t *tf_sip_create(const char *bind_url, const char *tls_url, const char *cert_dir,
                        const char *user_agent, size_t max_message,
                        tf_sip_event_cb cb, void *magic, char *err, size_t errlen) {
    struct tf_sip *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->cb = cb;
    s->magic = magic;
    s->root = su_root_create(s);
    if (!s->root) {
        snprintf(err, errlen, "su_root_create failed");
        free(s);
        return NULL;
    }
    // Media is ours: nua must not run SDP offer/answer (NUTAG_MEDIA_ENABLE(0)); we send
    // and read SDP bodies ourselves. We alert and answer explicitly.
#define TF_NUA_TAGS \
                        NUTAG_MEDIA_ENABLE(0), \
                        NUTAG_AUTOALERT(0), \
                        NUTAG_AUTOANSWER(0), \
                        NUTAG_AUTOACK(1), \
                        /* MESSAGE (SMS over SIP) and OPTIONS (probes: 503 while draining, */ \
                        /* rate-limited) are answered by the daemon, not by nua. */ \
                        NUTAG_ENABLEMESSAGE(1), \
                        NUTAG_APPL_METHOD("MESSAGE, OPTIONS"), \
                        /* Larger messages get 513 and are not kept for 32 s. */ \
                        NTATAG_MAXSIZE(max_message ? max_message : 2 * 1024 * 1024), \
                        /* Requests over UDP stay on UDP whatever their size, as FreeSWITCH */ \
                        /* and Kamailio send them: nta's default (1300 octets) moves larger */ \
                        /* ones to TCP, and a trunk without TCP then fails the call (503). */ \
                        /* An INVITE with SDES keys (two a=crypto lines) crossed 1300. */ \
                        NTATAG_UDP_MTU(65535), \
                        /* No STUN answers on the SIP port, and no unstructured STUN log lines. */ \
                        TPTAG_STUN_SERVER(0), \
                        /* Advertise only what we implement (nua's defaults add PRACK, */ \
                        /* SUBSCRIBE, REFER, UPDATE and 100rel). */ \
                        SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE"), \
                        SIPTAG_SUPPORTED_STR("timer"), \
                        /* RFC 4028 session timers: a caller that asks for them refreshes */ \
                        /* (re-INVITE, answered from our media); one that stops is sent BYE */ \
                        /* at expiry by nua. Too short an interval gets 422 with Min-SE. */ \
                        NUTAG_SESSION_TIMER(1800), \
                        NUTAG_MIN_SE(90), \
                        NUTAG_SESSION_REFRESHER(nua_remote_refresher), \
                        NUTAG_UPDATE_REFRESH(0), \
                        SIPTAG_USER_AGENT_STR(user_agent), \
                        SIPTAG_SERVER_STR(user_agent)
    if (tls_url && cert_dir) {
        s->nua = nua_create(s->root, on_nua_event, s, NUTAG_URL(bind_url), NUTAG_SIPS_URL(tls_url),
                            TPTAG_CERTIFICATE(cert_dir), TF_NUA_TAGS, TAG_END());
    } else {
        s->nua = nua_create(s->root, on_nua_event, s, NUTAG_URL(bind_url), TF_NUA_TAGS, TAG_END());
    }
#undef TF_NUA_TAGS
    if (!s->nua) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not local?)", bind_url);
        su_root_destroy(s->root);
        free(s);
        return NULL;
    }
    drop_stun_on_udp_port(tf_url_port(bind_url));
    if (tls_url && !strstr(bind_url, "0.0.0.0") && !strstr(bind_url, "[::]") && strlen(bind_url) < sizeof s->plain_contact - 3)
        snprintf(s->plain_contact, sizeof s->plain_contact, "<%s>", bind_url);
    return s;
}

void tf_sip_run(tf_sip_t *s) { su_root_run(s->root); }
void tf_sip_break(tf_sip_t *s) { su_root_break(s->root); }
void tf_sip_shutdown(tf_sip_t *s) { nua_shutdown(s->nua); }

void tf_sip_destroy(tf_sip_t *s) {
    if (!s) return;
    if (s->nua) nua_destroy(s->nua);
    if (s->root) su_root_destroy(s->root);
    free(s);
}

static void run_posted(su_root_magic_t *magic, su_msg_r msg, su_msg_arg_t *arg) {
    (void)magic; (void)msg;
    tf_task_t *t = (tf_task_t *)arg;
    t->fn(t->arg);
}

int tf_sip_post(tf_sip_t *s, tf_sip_task_cb fn, void *arg) {
    su_msg_r m = SU_MSG_R_INIT;
    if (su_msg_create(m, su_root_task(s->root), su_root_task(s->root), run_posted,
                      sizeof(tf_task_t)) != 0)
        return -1;
    tf_task_t *t = (tf_task_t *)su_msg_data(m);
    t->fn = fn;
    t->arg = arg;
    return su_msg_send(m);
}

typedef struct {
    su_timer_t *timer;
    tf_sip_task_cb fn;
    void *arg;
} tf_timer_t;

static void timer_fired(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg) {
    (void)magic;
    tf_timer_t *tt = (tf_timer_t *)arg;
    tf_sip_task_cb fn = tt->fn;
    void *a = tt->arg;
    su_timer_destroy(t);
    free(tt);
    fn(a);
}

void *tf_sip_timer_start(tf_sip_t *s, unsigned ms, tf_sip_task_cb fn, void *arg) {
    tf_timer_t *tt = calloc(1, sizeof *tt);
    if (!tt) return NULL;
    // su_timer asserts a duration > 0 (abort); a duration past LONG/INT range wraps.
    if (ms == 0) ms = 1;
    if (ms > 0x7fffffffu) ms = 0x7fffffffu;
    tt->timer = su_timer_create(su_root_task(s->root), ms);
    if (!tt->timer) { free(tt); return NULL; }
    tt->fn = fn;
    tt->arg = arg;
    if (su_timer_set(tt->timer, timer_fired, tt) != 0) {
        su_timer_destroy(tt->timer);
        free(tt);
        return NULL;
    }
    return tt;
}

void *tf_sip_timer_cancel(tf_sip_t *s, void *timer) {
    (void)s;
    if (!timer) return NULL;
    tf_timer_t *tt = (tf_timer_t *)timer;
    void *arg = tt->arg;
    su_timer_destroy(tt->timer); // also resets it
    free(tt);
    return arg;
}

void tf_sip_bind(void *handle, void *magic) {
    nua_handle_bind((nua_handle_t *)handle, magic);
}

void tf_sip_respond(void *handle, int status, const char *sdp, const char *extra_headers) {
    nua_handle_t *nh = (nua_handle_t *)handle;
    char const *phrase = sip_status_phrase(status);
    if (!phrase) phrase = "Unknown";
    if (sdp && extra_headers) {
        nua_respond(nh, status, phrase, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                    SIPTAG_PAYLOAD_STR(sdp), SIPTAG_HEADER_STR(extra_headers), TAG_END());
    } else if (sdp) {
        nua_respond(nh, status, phrase, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                    SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    } else if (extra_headers) {
        nua_respond(nh, status, phrase, SIPTAG_HEADER_STR(extra_headers), TAG_END());
    } else {
        nua_respond(nh, status, phrase, TAG_END());
    }
}

void tf_sip_bye(void *handle) { nua_bye((nua_handle_t *)handle, TAG_END()); }

void tf_sip_handle_destroy(void *handle) { nua_handle_destroy((nua_handle_t *)handle); }

void *tf_sip_invite(tf_sip_t *s, const char *request_uri, const char *from, const char *to,
                    const char *call_id, const char *sdp, const char *extra_headers) {
    // Only To, From and Call-ID on the handle: tags given to nua_handle are copied into
    // every request of the dialog (BYE, ACK), which the body and extra headers must not be.
    nua_handle_t *nh = call_id && *call_id
        ? nua_handle(s->nua, NULL, SIPTAG_TO_STR(to), SIPTAG_FROM_STR(from), SIPTAG_CALL_ID_STR(call_id), TAG_END())
        : nua_handle(s->nua, NULL, SIPTAG_TO_STR(to), SIPTAG_FROM_STR(from), TAG_END());
    if (!nh) return NULL;
    nua_handle_bind(nh, nh);
    // With a TLS listener too, nua may put its sips: Contact on an INVITE sent over UDP
    // (seen after a call had come in over TLS): the peer then has no way back (pjsip
    // answers 500). A plain target gets the plain listener's Contact.
    int secure = strncasecmp(request_uri, "sips:", 5) == 0 || strcasestr(request_uri, "transport=tls") != NULL;
    const char *contact = s->plain_contact[0] && !secure ? s->plain_contact : NULL;
    nua_invite(nh, NUTAG_URL(request_uri), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(sdp), TAG_IF(extra_headers && *extra_headers, SIPTAG_HEADER_STR(extra_headers)),
               TAG_IF(contact != NULL, SIPTAG_CONTACT_STR(contact)), TAG_END());
    return nh;
}

void tf_sip_cancel(void *handle) { nua_cancel((nua_handle_t *)handle, TAG_END()); }

void tf_sip_authenticate(void *handle, const char *scheme, const char *realm,
                         const char *user, const char *password) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s:%s:%s:%s", scheme, realm, user, password);
    nua_authenticate((nua_handle_t *)handle, NUTAG_AUTH(buf), TAG_END());
}

void tf_sip_respond_current(tf_sip_t *s, void *handle, int status, const char *extra_headers) {
    nua_handle_t *nh = (nua_handle_t *)handle;
    char const *phrase = sip_status_phrase(status);
    if (!phrase) phrase = "Unknown";
    if (extra_headers) {
        nua_respond(nh, status, phrase, NUTAG_WITH_THIS(s->nua), SIPTAG_HEADER_STR(extra_headers), TAG_END());
    } else {
        nua_respond(nh, status, phrase, NUTAG_WITH_THIS(s->nua), TAG_END());
    }
}
