/// `tollfreed help COMMAND` (and `tollfreed COMMAND --help`): each command's synopsis,
/// what it does, its options and its exit status.
public enum CommandHelp {
    /// Every command word `help` knows, in the order `tollfreed help` lists them.
    public static let commands = ["run", "check-config", "check", "simulate", "status", "calls", "drain", "undrain",
                                  "reload", "flows", "cdr", "sms", "bill", "recording", "audit", "retention",
                                  "keygen", "say", "help", "version"]

    /// The help of `command`; nil for a word that is not a command.
    public static func text(_ command: String) -> String? {
        if let t = daemonHelp[command] ?? controlHelp[command] ?? toolHelp[command] { return t }
        switch command {
        case "help": return "tollfreed help [COMMAND]\n\nWithout COMMAND, the usage of every command; with it, that command's help.\nThe same: tollfreed COMMAND --help."
        case "version": return "tollfreed version | --version\n\nPrints the version (\"tollfreed 0.1.0\")."
        default: return nil
        }
    }

    static let controlCommon = """
        --json          print the daemon's answer as JSON (one object, for scripts)
        --socket PATH   the control socket (default: control.socket of the config,
                        else /run/tollfreed/control.sock)
        --config FILE   the config naming control.socket

    Exit status: 0 done, 1 refused by the daemon (the reason on stderr), 2 usage error,
    3 the daemon could not be reached. Only root and the daemon's user may use the socket.
    """

    static let controlHelp: [String: String] = [
        "status": """
        tollfreed status [--json] [--socket PATH] [--config FILE]

        The running daemon's version, pid, node, uptime, SIP address, whether it is
        draining, calls and <Dial> legs up against its capacity, emergency calls and the
        part of the emergency reserve in use, and free RTP ports.

        \(controlCommon)
        """,
        "calls": """
        tollfreed calls [--json] [--socket PATH] [--config FILE]
        tollfreed calls hangup CALL_ID [--json] [--socket PATH] [--config FILE]

        calls: one line per call and <Dial> leg up: id, kind (call or leg), number, tenant,
        party (the caller, or a leg's target; all but four digits masked for healthcare
        tenants), state, the verb the flow is on, duration, emergency, and the call's legs
        (or a leg's call).
        calls hangup: ends the call CALL_ID (its CA... id or its SIP Call-ID) as a shutdown
        does: BYE once answered, 480 before; its legs end with it; its record is written.
        Audited (control.calls.hangup).

        \(controlCommon)
        """,
        "drain": """
        tollfreed drain [--json] [--socket PATH] [--config FILE]

        Stops admitting calls: new INVITEs and OPTIONS get 503 with Retry-After (a
        dispatcher such as Kamailio takes the node out), /readyz fails; calls in progress
        go on. Undone by tollfreed undrain; a stop (SIGTERM) drains as well. Audited.

        \(controlCommon)
        """,
        "undrain": """
        tollfreed undrain [--json] [--socket PATH] [--config FILE]

        Admits calls again after tollfreed drain. Audited.

        \(controlCommon)
        """,
        "reload": """
        tollfreed reload [--json] [--socket PATH] [--config FILE]

        Re-reads the config file and every local flow, as SIGHUP (systemctl reload) does,
        and reports the outcome: a config or flow that does not load is refused with its
        error (exit 1) and the running configuration keeps serving; settings that need a
        restart are named. Calls in progress keep their flows. Audited.

        \(controlCommon)
        """,
        "flows": """
        tollfreed flows reload NUMBER [--json] [--socket PATH] [--config FILE]

        Re-reads the local flow file(s) of NUMBER (its flow and fallback_flow; any
        spelling of the number: +18005963057, +1-800-596-3057) without reading the rest of
        the config. Every number using the same file gets the new version for new calls;
        calls in progress keep theirs. A file that does not parse is refused (exit 1) and
        the loaded one keeps serving. Audited.

        \(controlCommon)
        """,
    ]
}
