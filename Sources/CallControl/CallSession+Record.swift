import Configuration
import Foundation
import Media
import Metering
import Routing
import Signaling
import TeXML

/// The call's record: the session is its one owner, from the opening `active` record to
/// the final one with the RTP counts the controller hands over when media closes.
extension CallSession {
    /// The record of the call from its admission on (`active`): written first, so a crash
    /// cannot lose the call.
    var openingRecord: CallDetailRecord {
        CallDetailRecord(callID: callID, sipCallID: sipCallID, did: route.did, tenant: route.tenant, fromNumber: fromNumber,
                         toNumber: toNumber, startTime: startTime, answerTime: nil, endTime: startTime, disposition: .active,
                         sipCode: 0, hangupBy: .none, flow: route.flow, emergency: route.emergency || emergency)
    }

    /// The call's media is closed with these counts (nil: it never had any): the final
    /// record, the one the session made when the call ended, with its RTP counts. The
    /// session is the record's one owner; the controller only supplies the counts.
    mutating func closed(media stats: MediaStats?) -> CallDetailRecord? {
        guard var record = endRecord else { return nil }
        if let stats { mediaStats = stats }
        record.rtpSent = mediaStats.packetsSent
        record.rtpReceived = mediaStats.packetsReceived
        record.rtpDropped = mediaStats.packetsDropped
        record.quality = CallQuality(media: mediaStats)
        endRecord = record
        return record
    }

    /// The recording did not arrive in time after hang-up: close the record anyway.
    mutating func closeTimerFired(now: Date) -> [CallAction] {
        guard phase == .closing else { return [] }
        return [.log(level: "warning", event: "call.recording_late", detail: "record closed without the recording")]
            + end(disposition: disposition, code: sipCode == 0 ? 200 : sipCode, by: hangupBy, now: now, prefix: [])
    }
}
