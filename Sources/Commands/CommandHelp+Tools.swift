extension CommandHelp {
    static let configData = """
        --config FILE   the config (default: Config/tollfreed.json if present, else
                        /etc/tollfreed/tollfreed.json)
        --data DIR      the data directory (overrides data_dir)
    """

    static let daemonHelp: [String: String] = [
        "run": """
        tollfreed run [--config FILE] [--sip HOST:PORT] [--rtp-ports LOW-HIGH] [--data DIR]
                      [--log-level LEVEL]

        Answers calls in the foreground until SIGTERM or SIGINT, then drains: new calls
        get 503, calls in progress may finish for calls.drain_s, records are flushed.
        SIGHUP re-reads the config and flows. Under systemd it speaks the notify protocol
        (READY, WATCHDOG, RELOADING, STOPPING) and logs to the journal with fields
        (CALL_ID=, TENANT=...).

        \(configData)
            --sip HOST:PORT       SIP listen address, UDP and TCP (overrides sip.listen)
            --rtp-ports LOW-HIGH  RTP port range (overrides media.rtp_ports)
            --log-level LEVEL     error, warning, notice, info or debug

        Exit status: 0 after a stop, 1 a start that failed, 2 a config that does not load.
        """,
        "check-config": """
        tollfreed check-config [--config FILE]

        Loads the config and every local call flow it names, then exits: 0 when the
        daemon would start with them, 2 with the first error.
        """,
        "check": """
        tollfreed check [--strict] FILE...

        Validates TeXML flow files and JSON config files: every error and every warning
        (markup tollfreed ignores). Exit 1 on an error (--strict: on a warning too).
        """,
        "simulate": """
        tollfreed simulate FLOW [--from NUMBER] [--to NUMBER] [--digits KEYS] [--webhook-base URL]

        Runs a flow (a file or a URL) without SIP and prints what the caller would hear
        and do. --digits "1#": the keys pressed at each Gather/Record, "w" lets one time out.
        """,
    ]

    static let toolHelp: [String: String] = [
        "cdr": """
        tollfreed cdr export [--format csv|jsonl] [--from TIME] [--to TIME] [--config FILE] [--data DIR]

        Prints call detail records: CSV with a header row, or JSON Lines. TIME is
        2026-11-01 (UTC midnight) or 2026-11-01T05:00:00Z; --to is exclusive.
        """,
        "sms": """
        tollfreed sms export [--format csv|jsonl] [--from TIME] [--to TIME] [--config FILE] [--data DIR]

        Prints message detail records, like cdr export.
        """,
        "bill": """
        tollfreed bill --period YYYY-MM [--tenant ID] [--format table|csv|json] [--config FILE]
                       [--data DIR] [--plans FILE] [--cdrs FILE] [--messages FILE] [--2fa FILE]

        One invoice per tenant for a calendar month in its time zone: plan fee, included
        minutes/SMS/2FA and overage, in exact decimal money. --cdrs and --messages rate
        export files instead of the live store; --2fa adds 2FA attempts (JSON Lines).
        """,
        "recording": """
        tollfreed recording decrypt ID --out FILE [--config FILE] [--data DIR]

        Writes a sealed recording (ID: its RE... sid or file name) as WAV. Audited.
        """,
        "audit": """
        tollfreed audit verify [--config FILE] [--data DIR]

        Checks the audit log's hash chain; exit 1 when an entry was edited or removed.
        """,
        "retention": """
        tollfreed retention run [--dry-run] [--config FILE] [--data DIR]

        Deletes recordings and transcripts past their tenant's retention (healthcare 7
        years, fleet 2...). Audited. The package's tollfreed-retention.timer runs it daily.
        """,
        "keygen": """
        tollfreed keygen --out FILE

        Writes a new AES-256 recording key (64 hex characters, mode 0400) to FILE.
        """,
        "say": """
        tollfreed say TEXT... --out FILE.wav [--voice VOICE] [--language LANG]

        Speaks TEXT as <Say> would into an 8 kHz WAV file.
        """,
    ]
}
