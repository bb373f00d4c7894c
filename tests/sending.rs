//! The ways to send: owned payloads passed through, borrowed ones copied, and a
//! message framed once for many connections.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{Config, MessageKind, Prepared, SendError};

/// A borrowed payload is copied; the frames are the same as for an owned one, in
/// both roles, small and large.
#[test]
fn copied_sends_frame_like_owned_ones() {
    for len in [0, 5, 1024, 1025, 100_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let text = "é".repeat(len / 2);
        for mut conn in [server(), client()] {
            conn.send_binary_copied(&payload).unwrap();
            conn.send_text_copied(&text).unwrap();
            let mut out = Vec::new();
            conn.transmit_into(&mut out);
            let fs = frames(&out);
            assert_eq!(fs.len(), 2);
            assert_eq!(fs[0].header.opcode, OpCode::Binary);
            assert_eq!(&fs[0].payload[..], &payload[..]);
            assert_eq!(fs[1].header.opcode, OpCode::Text);
            assert_eq!(&fs[1].payload[..], text.as_bytes());
            assert_eq!(
                fs[0].header.mask.is_some(),
                conn.role() == wsmachine::Role::Client
            );
        }
    }
}

/// A prepared message goes out of every server connection as the same bytes,
/// shared, not copied; a client frames it anew, masked.
#[test]
fn a_prepared_message_is_shared_by_servers_and_masked_by_clients() {
    let prepared = Prepared::new(vec![7u8; 5000]);
    let mut servers = [server(), server()];
    let mut first = None;
    for s in &mut servers {
        s.send_prepared(&prepared).unwrap();
        let mut slices = [&[][..]; 4];
        let n = s.transmit_vectored(&mut slices);
        assert_eq!(n, 1, "one slice: the frame as prepared");
        assert_eq!(slices[0], prepared.frame());
        assert_eq!(
            slices[0].as_ptr(),
            prepared.frame().as_ptr(),
            "shared, not copied"
        );
        first.get_or_insert(slices[0].as_ptr());
    }
    let mut c = client();
    c.send_prepared(&prepared).unwrap();
    let mut out = Vec::new();
    c.transmit_into(&mut out);
    let fs = frames(&out);
    assert!(fs[0].header.mask.is_some());
    assert_eq!(&fs[0].payload[..], prepared.payload());
}

/// A prepared message counts against the output limit, is refused in the middle
/// of a streamed message, and comes back whole from take_unsent.
#[test]
fn a_prepared_message_follows_the_sending_rules() {
    let prepared = Prepared::new("hello everyone");
    let mut config = Config::default();
    // Room for one, with its records, not for two.
    config.max_buffered_output = 250;
    let mut s = server_with(config);
    s.send_prepared(&prepared).unwrap();
    assert!(matches!(
        s.send_prepared(&prepared),
        Err(SendError::BufferFull { .. })
    ));
    let unsent = s.take_unsent();
    assert_eq!(unsent.len(), 1);
    assert_eq!(&unsent[0].data[..], b"hello everyone");
    assert_eq!(unsent[0].kind, MessageKind::Text);
    let mut s = server();
    s.send_fragment(MessageKind::Binary, &b"part"[..], false)
        .unwrap();
    assert_eq!(
        s.send_prepared(&prepared),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        s.send_text_copied("whole"),
        Err(SendError::MessageInProgress)
    );
}
