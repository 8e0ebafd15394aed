// libsrtp2 (Debian's libsrtp2-dev): SRTP and SRTCP (RFC 3711) for media keyed by SDES.
#include <srtp2/srtp.h>
