"""SIP torture messages after RFC 4475, written out from the RFC's descriptions.

They are not byte-exact copies of the RFC's test messages: hosts are replaced by
127.0.0.1 (Contacts) or example names (never contacted), and `$P` (daemon port), `$L`
(the sending socket's port), `$CID` (a fresh Call-ID) and `$D` (a dialed number) are
filled in by `render`. Each message keeps the oddity it was written to test. Both the
valid messages (the daemon must parse them) and the invalid ones (it must survive them)
are here; `render` also leaves binary bytes (escnull's NUL) in place.
"""

_SDP = ("v=0\r\no=mhandley 29739 7272939 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n")


def _m(*lines, body=""):
    return "\r\n".join(lines) + "\r\n\r\n" + body


MESSAGES = {
    # 3.1.1.1 A short tortuous INVITE (wsinv): folding, odd whitespace, escapes, compact forms.
    "wsinv": _m(
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
        "TO :",
        " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>",
        "  ;",
        "  tag = 98asjd8",
        "MaX-fOrWaRdS: 0068",
        "Call-ID: $CID",
        "Content-Length   : 150",
        "cseq: 0009",
        "  INVITE",
        "Via  : SIP  /   2.0",
        " /UDP",
        "    127.0.0.1:$L;rport;branch=390skdjuw",
        "s :",
        "NewFangledHeader:   newfangled value",
        " continued newfangled value",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;",
        "Content-Type: application/sdp",
        "Route:",
        " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
        "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
        "  branch  =   z9hG4bK9ikj8  ,",
        " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
        " z9hG4bK30239",
        "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@127.0.0.1:$L> ; newparam =",
        "      newvalue ;",
        "  secondparam ; q = 0.33",
        body="v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n"
             "t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n"),
    # 3.1.1.2 Wide range of valid characters (intmeth).
    "intmeth": _m(
        "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK-.!%66*_+`'~",
        "To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9\";tag=_token~1'+`*%!-.",
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
        "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
        "Max-Forwards: 255",
        "extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb",
        "Content-Length: 0"),
    # 3.1.1.3 Escaped characters in Request-URI and headers (esc01).
    "esc01": _m(
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
        "To: sip:%75se%72@example.com", "From: <sip:I%20have%20spaces@example.net>;tag=938",
        "Max-Forwards: 87", "i: $CID", "Call-ID: $CID", "CSeq: 1 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "C: application/sdp",
        "Contact: <sip:cal%6Cer@127.0.0.1:$L;%6C%72;n%61me=v%61lue%25%34%31>",
        "Content-Length: 150", body=_SDP),
    # 3.1.1.4 Escaped NUL in a URI (escnull).
    "escnull": _m(
        "REGISTER sip:example.com SIP/2.0", "To: sip:null-%00-null@example.com",
        "From: sip:null-%00-null@example.com;tag=839923423", "Max-Forwards: 70",
        "Call-ID: $CID", "CSeq: 39292 REGISTER", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK39292",
        "Contact: <sip:%00@127.0.0.1:$L>", "Contact: <sip:%00%00@127.0.0.1:$L>", "L:0"),
    # 3.1.1.5 Use of % when it is not an escape (esc02).
    "esc02": _m(
        "RE%47IST%45R sip:registrar.example.com SIP/2.0", "To: \"%Z%45\" <sip:resource@example.com>",
        "From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23", "Call-ID: $CID",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK209%fzsnel234", "CSeq: 29344 RE%47IST%45R",
        "Max-Forwards: 70", "Contact: <sip:alias1@127.0.0.1:$L>", "C%6Fntact: <sip:alias2@127.0.0.1:$L>",
        "Contact: <sip:alias3@127.0.0.1:$L>", "l: 0"),
    # 3.1.1.6 Message with no LWS between display name and < (lwsdisp).
    "lwsdisp": _m(
        "OPTIONS sip:user@example.com SIP/2.0", "To: sip:user@example.com",
        "From: caller<sip:caller@example.com>;tag=323", "Max-Forwards: 70", "Call-ID: $CID",
        "CSeq: 60 OPTIONS", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "l: 0"),
    # 3.1.1.8 Extra trailing octets in a UDP datagram (dblreq): a second request follows.
    "dblreq": _m(
        "REGISTER sip:example.com SIP/2.0", "To: sip:j.user@example.com",
        "From: sip:j.user@example.com;tag=43251j3j324", "Max-Forwards: 8", "I: $CID",
        "Contact: sip:j.user@127.0.0.1:$L", "l: 0", "CSeq: 8 REGISTER",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK37jkj3") + _m(
        "INVITE sip:$D@example.com SIP/2.0", "To: sip:$D@example.com", "From: sip:j.user@example.com;tag=234",
        "Max-Forwards: 10", "Call-ID: $CID-2", "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "Contact: <sip:j@127.0.0.1:$L>",
        "Content-Type: application/sdp", "l: 150", body=_SDP),
    # 3.1.1.9 Semicolon-separated parameters in URI user part (semiuri).
    "semiuri": _m(
        "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0", "To: sip:j_user@example.com",
        "From: sip:caller@example.org;tag=33242", "Max-Forwards: 3", "Call-ID: $CID", "CSeq: 8 OPTIONS",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "Accept: application/sdp, application/pkcs7-mime,",
        "        multipart/mixed, multipart/signed,", "        message/sip, message/sipfrag", "l: 0"),
    # 3.1.1.10 Varied and unknown transport types (transports).
    "transports": _m(
        "OPTIONS sip:user@example.com SIP/2.0", "To: sip:user@example.com", "From: <sip:caller@example.com>;tag=323",
        "Max-Forwards: 70", "Call-ID: $CID", "CSeq: 60 OPTIONS",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf", "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
        "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en", "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
        "l: 0"),
    # 3.1.1.11 Multipart MIME message (mpart01).
    "mpart01": _m(
        "MESSAGE sip:$D@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKs7ggf",
        "To: <sip:$D@example.com>", "From: <sip:+15551234567@example.com>;tag=fwer", "Call-ID: $CID",
        "CSeq: 1 MESSAGE", "Max-Forwards: 70", "MIME-Version: 1.0",
        "Content-Type: multipart/mixed;boundary=\"----=_NextPart_000_0037_01C08B32.7B2C6850\"", "Content-Length: 300",
        body="------=_NextPart_000_0037_01C08B32.7B2C6850\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
             "------=_NextPart_000_0037_01C08B32.7B2C6850\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
             "Content-Transfer-Encoding: binary\r\n\r\n\x30\x82\x01\x52\x06\x09\x2a\x86\r\n"
             "------=_NextPart_000_0037_01C08B32.7B2C6850--\r\n"),
    # 3.1.1.13 Message with unusual reason phrase / no reason phrase (responses sent to a server).
    "unreason": _m("SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe", "Via: SIP/2.0/UDP 127.0.0.1:$L;branch=z9hG4bK-s",
                   "Call-ID: $CID", "CSeq: 353494 INVITE", "From: <sip:a@example.com>;tag=39ansfi3",
                   "To: <sip:b@example.com>;tag=902jndnke3", "Content-Length: 0"),
    "noreason": _m("SIP/2.0 100 ", "Via: SIP/2.0/UDP 127.0.0.1:$L;branch=z9hG4bK-s", "Call-ID: $CID",
                   "CSeq: 5 INVITE", "From: <sip:a@example.com>;tag=38x", "To: <sip:b@example.com>", "Content-Length: 0"),
    # --- invalid messages (3.1.2) ---
    "badinv01": _m(
        "INVITE sip:$D@example.com SIP/2.0", "To: sip:j.user@example.com", "From: sip:caller@example.net;tag=134161461246",
        "Max-Forwards: 7", "Call-ID: $CID", "CSeq: 8 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Content-Type: application/sdp", "Content-Length: 9999", body=_SDP),
    "clerr": _m(
        "INVITE sip:$D@example.com SIP/2.0", "Max-Forwards: 80", "To: sip:j.user@example.com",
        "From: sip:caller@example.net;tag=93942939o2", "Contact: <sip:caller@127.0.0.1:$L>", "Call-ID: $CID",
        "CSeq: 0 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Content-Type: application/sdp", "Content-Length: 9999", body=_SDP),
    "ncl": _m(
        "INVITE sip:$D@example.com SIP/2.0", "Max-Forwards: 254", "To: sip:j.user@example.com",
        "From: sip:caller@example.net;tag=32394234", "Call-ID: $CID", "CSeq: 0 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "Contact: <sip:caller@127.0.0.1:$L>",
        "Content-Type: application/sdp", "Content-Length: -999", body=_SDP),
    "scalar02": _m(
        "REGISTER sip:example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKsxcv",
        "Max-Forwards: 300", "From: <sip:2@example.com>;tag=dbck", "To: <sip:2@example.com>", "Call-ID: $CID",
        "CSeq: 36893488147419103232 REGISTER", "Contact: <sip:2@127.0.0.1:$L>;expires=280297596632815",
        "Expires: 10000000000000000000", "Content-Length: 0"),
    "scalarlg": _m(
        "INVITE sip:$D@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKsxcv",
        "Max-Forwards: 99999999999999999999", "From: <sip:2@example.com>;tag=dbck", "To: <sip:$D@example.com>",
        "Call-ID: $CID", "CSeq: 99999999999999999999999 INVITE", "Contact: <sip:2@127.0.0.1:$L>",
        "Content-Length: 000000000000000000000000000000000000000000000000000000000000000000000000"),
    "quotbal": _m(
        "INVITE sip:$D@example.com SIP/2.0", "To: \"Mr. J. User <sip:j.user@example.com>",
        "From: sip:caller@example.net;tag=93334", "Max-Forwards: 10", "Call-ID: $CID", "CSeq: 0 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "Contact: <sip:caller@127.0.0.1:$L>",
        "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "ltgtruri": _m(
        "INVITE <sip:$D@example.com> SIP/2.0", "To: sip:user@example.com", "From: sip:caller@example.net;tag=39291",
        "Max-Forwards: 23", "Call-ID: $CID", "CSeq: 1 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Contact: <sip:caller@127.0.0.1:$L>", "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "lwsruri": _m(
        "INVITE sip:user@example.com; lr SIP/2.0", "To: sip:user@example.com;tag=3xfe-9921883-z9f",
        "From: sip:caller@example.net;tag=231413434", "Max-Forwards: 5", "Call-ID: $CID", "CSeq: 2130706432 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw2395", "Contact: <sip:caller@127.0.0.1:$L>",
        "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "lwsstart": _m(
        "INVITE  sip:$D@example.com  SIP/2.0", "Max-Forwards: 8", "To: sip:user@example.com",
        "From: sip:caller@example.net;tag=8814", "Call-ID: $CID", "CSeq: 1893884 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw3923", "Contact: <sip:caller@127.0.0.1:$L>",
        "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "trws": "OPTIONS sip:remote-target@example.com SIP/2.0  \r\nVia: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK-t\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: $CID\r\n"
            "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n",
    "escruri": _m(
        "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0", "To: sip:user@example.com",
        "From: sip:caller@example.net;tag=341518", "Max-Forwards: 7", "Contact: <sip:caller@127.0.0.1:$L>",
        "Call-ID: $CID", "CSeq: 39 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "baddate": _m(
        "INVITE sip:$D@example.com SIP/2.0", "To: sip:user@example.com", "From: sip:caller@example.net;tag=2234923",
        "Max-Forwards: 70", "Call-ID: $CID", "CSeq: 1392934 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Date: Fri, 01 Jan 2010 16:00:00 EST", "Contact: <sip:caller@127.0.0.1:$L>", "Content-Type: application/sdp",
        "Content-Length: 150", body=_SDP),
    "regbadct": _m(
        "REGISTER sip:example.com SIP/2.0", "To: sip:user@example.com", "From: sip:user@example.com;tag=998332",
        "Max-Forwards: 70", "Call-ID: $CID", "CSeq: 1 REGISTER", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E", "l: 0"),
    "badaspec": _m(
        "OPTIONS sip:user@example.org SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Max-Forwards: 70", "From: sip:user@example.org;tag=3122", "To: \"Watson, Thomas\" < sip:t.watson@example.org >",
        "Call-ID: $CID", "CSeq: 3923239 OPTIONS", "l: 0"),
    "baddn": _m(
        "OPTIONS sip:t.watson@example.org SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Max-Forwards: 70", "From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
        "To: Watson, Thomas <sip:t.watson@example.org>", "Call-ID: $CID", "CSeq: 3923239 OPTIONS", "l: 0"),
    "badvers": _m(
        "OPTIONS sip:t.watson@example.org SIP/7.0", "Via: SIP/7.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Max-Forwards: 70", "From: A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe", "To: T. Watson <sip:t.watson@example.org>",
        "Call-ID: $CID", "CSeq: 1 OPTIONS", "l: 0"),
    "mismatch01": _m(
        "OPTIONS sip:user@example.com SIP/2.0", "To: sip:j.user@example.com", "From: sip:caller@example.net;tag=34525",
        "Max-Forwards: 6", "Call-ID: $CID", "CSeq: 50 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "l: 0"),
    "mismatch02": _m(
        "NEWMETHOD sip:user@example.com SIP/2.0", "To: sip:j.user@example.com", "From: sip:caller@example.net;tag=34525",
        "Max-Forwards: 6", "Call-ID: $CID", "CSeq: 50 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Content-Type: application/sdp", "l: 150", body=_SDP),
    "multi01": _m(
        "INVITE sip:$D@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK-0001",
        "Max-Forwards: 70", "CSeq: 5 INVITE", "Call-ID: $CID", "CSeq: 59 INVITE", "Call-ID: $CID-b",
        "From: sip:caller@example.com;tag=3413415", "To: sip:user@example.com", "To: sip:other@example.net",
        "From: sip:caller@example.net;tag=2923420123", "Content-Type: application/sdp", "l: 154",
        "Contact: <sip:caller@127.0.0.1:$L>", "Max-Forwards: 5", body=_SDP),
    "insuf": _m(
        "INVITE sip:$D@example.com SIP/2.0", "CSeq: 193942 INVITE", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "Content-Type: application/sdp", "l: 152", body=_SDP),
    "unkscm": _m(
        "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0", "To: sip:user@example.com",
        "From: sip:caller@example.net;tag=384", "Max-Forwards: 3", "Call-ID: $CID", "CSeq: 3923423 OPTIONS",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "l: 0"),
    "novelsc": _m(
        "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", "To: sip:user@example.com", "From: sip:caller@example.net;tag=384",
        "Max-Forwards: 3", "Call-ID: $CID", "CSeq: 3923423 OPTIONS", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw",
        "l: 0"),
    "sdp01": _m(
        "INVITE sip:$D@example.com SIP/2.0", "To: sip:j_user@example.com", "Contact: <sip:caller@127.0.0.1:$L>",
        "From: sip:caller@example.net;tag=234", "Max-Forwards: 5", "Call-ID: $CID", "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKkdjuw", "Accept: text/nobodyKnowsThis",
        "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "inv2543": _m(
        "INVITE sip:$D@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L", "Max-Forwards: 70",
        "From: <sip:caller@example.com>;tag=1", "To: <sip:$D@example.com>", "Call-ID: $CID", "CSeq: 1 INVITE",
        "Contact: <sip:caller@127.0.0.1:$L>", "Content-Type: application/sdp", "Content-Length: 150", body=_SDP),
    "cparam01": _m(
        "REGISTER sip:example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK-c1",
        "Max-Forwards: 70", "From: sip:watson@example.com;tag=w4", "To: sip:watson@example.com", "Call-ID: $CID",
        "CSeq: 2 REGISTER", "Contact: sip:+19725552222@127.0.0.1:$L;user=phone", "l: 0"),
    "zeromf": _m(
        "INVITE sip:$D@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK-mf0",
        "Max-Forwards: 0", "From: <sip:caller@example.com>;tag=mf0", "To: <sip:$D@example.com>", "Call-ID: $CID",
        "CSeq: 1 INVITE", "Contact: <sip:caller@127.0.0.1:$L>", "Content-Type: application/sdp",
        "Content-Length: 150", body=_SDP),
    "cancelnodialog": _m(
        "CANCEL sip:$D@example.com SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bK-nodlg",
        "Max-Forwards: 70", "From: <sip:caller@example.com>;tag=x", "To: <sip:$D@example.com>", "Call-ID: $CID",
        "CSeq: 1 CANCEL", "l: 0"),
}


def _longreq():
    """3.1.1.7 A message with a very long (but valid) header set (longreq)."""
    long_name = "amazinglylongcallernameamazinglylongcallernameamazinglylongcallername" * 3
    via = "Via: SIP/2.0/TCP sip33.example.com;branch=z9hG4bK" + "x" * 60
    return _m(
        "INVITE sip:$D@example.com SIP/2.0",
        f"To: \"I have a user name of {'extreme' * 10} proportion\" <sip:$D@example.com:6000;unknownparam1="
        f"{'verylonguserparam' * 20};unknownparam2={'q' * 300}>",
        f"From: sip:{long_name}@example.net;tag=12982982982;unknownheaderparam{'x' * 250}=value",
        f"Call-ID: $CID", "CSeq: 18 INVITE", "Max-Forwards: 70",
        *([via] * 25),
        "Via: SIP/2.0/UDP 127.0.0.1:$L;rport;branch=z9hG4bKlonglong",
        f"Unknown-LongLong-LongLong-LongLong-LongLong-LongLong-LongLong-LongLong-LongLong-LongLong: {'unknown-' * 200}",
        f"Contact: <sip:{long_name}@127.0.0.1:$L>", "Content-Type: application/sdp", "l: 150", body=_SDP)


MESSAGES["longreq"] = _longreq()


def render(name, daemon_port, local_port, call_id, dialed):
    """The message `name` with its placeholders filled in, as bytes."""
    text = MESSAGES[name]
    for token, value in (("$CID", call_id), ("$P", str(daemon_port)), ("$L", str(local_port)), ("$D", dialed)):
        text = text.replace(token, value)
    return text.encode("utf-8", "surrogateescape")
