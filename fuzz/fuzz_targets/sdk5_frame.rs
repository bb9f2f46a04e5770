//! Server SDK 5 frames, read as the service and the SDK read them: any text parses or gives a
//! typed error, every action's payload reads or names the bad member, and what reads writes back
//! to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdk5_protocol::*;

fn check<T>(frame: &Frame)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    match frame.body::<T>() {
        Ok(message) => {
            let text = encode(&frame.envelope, &message);
            let again = Frame::parse(&text).expect("a written frame parses");
            assert_eq!(again.envelope, frame.envelope);
            let back: T = again.body().expect("a written message reads");
            // Floats (attribute values) may be NaN-free only; compare through JSON text.
            assert_eq!(
                serde_json::to_string(&back).ok(),
                serde_json::to_string(&message).ok()
            );
        }
        Err(ProtocolError::Field { field, .. }) => {
            let _ = field;
        }
        Err(other) => panic!("a parsed frame's body failed without naming a member: {other}"),
    }
}

fuzz_target!(|text: &str| {
    let Ok(frame) = Frame::parse(text) else {
        return;
    };
    check::<ActivateServerProcess>(&frame);
    check::<HeartbeatServerProcess>(&frame);
    check::<UpdatePlayerSessionCreationPolicy>(&frame);
    check::<PlayerSessionAction>(&frame);
    check::<DescribePlayerSessions>(&frame);
    check::<DescribePlayerSessionsResponse>(&frame);
    check::<StartMatchBackfill>(&frame);
    check::<StopMatchBackfill>(&frame);
    check::<GetFleetRoleCredentials>(&frame);
    check::<CreateGameSession>(&frame);
    check::<UpdateGameSession>(&frame);
    check::<TerminateProcess>(&frame);
    check::<RefreshConnection>(&frame);
});
