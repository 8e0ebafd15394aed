// Sofia's su_configure.h defines _GNU_SOURCE: system headers must come first.
#include <sys/types.h>
#include <sys/socket.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_status.h>
