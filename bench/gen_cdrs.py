#!/usr/bin/env python3
"""Writes N generated call records (and M message records) for the three reference
tenants into DATA/cdr.sqlite, in the daemon's schema, for bench/billing.sh.

Calls spread over the month, 0-1,800 s long, 80 % answered, some outbound Dial legs;
deterministic (seeded) so runs compare."""
import os, random, sqlite3, sys, calendar, datetime

def main():
    data, n, m, period = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, "cdr.sqlite")
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("""CREATE TABLE calls (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      call_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
      tenant TEXT NOT NULL, from_number TEXT NOT NULL, to_number TEXT NOT NULL,
      start_time REAL NOT NULL, answer_time REAL, end_time REAL NOT NULL,
      duration_ms INTEGER NOT NULL, billable_seconds INTEGER NOT NULL,
      disposition TEXT NOT NULL, sip_code INTEGER NOT NULL, hangup_by TEXT NOT NULL,
      flow TEXT NOT NULL, emergency INTEGER NOT NULL DEFAULT 0,
      rtp_sent INTEGER NOT NULL DEFAULT 0, rtp_received INTEGER NOT NULL DEFAULT 0,
      rtp_dropped INTEGER NOT NULL DEFAULT 0, recording_url TEXT NOT NULL DEFAULT '',
      recording_seconds INTEGER NOT NULL DEFAULT 0, direction TEXT NOT NULL DEFAULT 'inbound',
      parent_call_id TEXT NOT NULL DEFAULT '')""")
    db.execute("""CREATE TABLE messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      message_id TEXT NOT NULL UNIQUE, sip_call_id TEXT NOT NULL, did TEXT NOT NULL,
      tenant TEXT NOT NULL, from_number TEXT NOT NULL, received_time REAL NOT NULL,
      body_length INTEGER NOT NULL, encoding TEXT NOT NULL, segments INTEGER NOT NULL)""")
    year, month = map(int, period.split("-"))
    start = calendar.timegm(datetime.date(year, month, 1).timetuple())
    days = calendar.monthrange(year, month)[1]
    tenants = [("healthcare-client-001", "+18005963057", "healthcare-intake.xml"),
               ("fleet-client-001", "+18888046762", "fleet-emergency.xml"),
               ("backup-general-001", "+12082792555", "general-business.xml")]
    rnd = random.Random(20261122)

    def calls():
        for i in range(n):
            tenant, did, flow = tenants[i % 3]
            t0 = start + rnd.random() * days * 86400
            answered = rnd.random() < 0.8
            length = rnd.randint(0, 1800) if answered else 0
            ans = t0 + 1.0 if answered else None
            end = (ans + length) if answered else t0 + 5
            outbound = answered and i % 10 == 0
            yield (f"CAbench{i:08x}", f"bench-{i}@load", did, tenant, f"+1555{i % 10000000:07d}", did,
                   t0, ans, end, length * 1000, length, "completed" if answered else "canceled",
                   200 if answered else 487, "caller", flow, 0, 0, 0, 0, "", 0,
                   "outbound" if outbound else "inbound", f"CAparent{i:08x}" if outbound else "")

    db.executemany("INSERT INTO calls (call_id, sip_call_id, did, tenant, from_number, to_number, start_time, "
                   "answer_time, end_time, duration_ms, billable_seconds, disposition, sip_code, hangup_by, flow, "
                   "emergency, rtp_sent, rtp_received, rtp_dropped, recording_url, recording_seconds, direction, "
                   "parent_call_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", calls())

    def messages():
        for i in range(m):
            tenant, did, _ = tenants[i % 3]
            yield (f"SMbench{i:08x}", f"sms-{i}@load", did, tenant, f"+1555{i % 10000000:07d}",
                   start + rnd.random() * days * 86400, 40 + i % 300, "GSM-7" if i % 4 else "UCS-2", 1 + i % 3)

    db.executemany("INSERT INTO messages (message_id, sip_call_id, did, tenant, from_number, received_time, "
                   "body_length, encoding, segments) VALUES (?,?,?,?,?,?,?,?,?)", messages())
    db.execute("CREATE INDEX calls_start ON calls(start_time)")
    db.execute("CREATE INDEX messages_received ON messages(received_time)")
    db.commit()
    db.close()

main()
