//! Round trip: any sequence of messages (whole, or streamed at arbitrary cut points,
//! with pings between), sent by either side, arrives identical and in order at the
//! other side under an arbitrary chunking.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::{Config, Connection, Event, Message, Negotiated, SeededEntropy, Timestamp};

#[derive(Arbitrary, Debug)]
struct Input {
    from_client: bool,
    items: Vec<(Message, Vec<u8>, Option<Vec<u8>>)>,
    chunks: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let t = Timestamp::ZERO;
    let client = || {
        Connection::upgraded_client(
            Config::default(),
            Negotiated::none(),
            SeededEntropy::new(5),
            &[],
            t,
        )
        .unwrap()
    };
    let server =
        || Connection::upgraded_server(Config::default(), Negotiated::none(), &[], t).unwrap();
    let (mut tx, mut rx) = if input.from_client {
        (client(), server())
    } else {
        (server(), client())
    };
    let mut expected = Vec::new();
    for (message, cuts, ping) in input.items {
        let bytes = message.as_bytes().to_vec();
        if cuts.is_empty() {
            tx.send(message.clone()).unwrap();
        } else {
            // Cut points from the fuzzer's bytes, sorted; text may be cut mid code point.
            let mut at: Vec<usize> = cuts
                .iter()
                .map(|&c| usize::from(c) % (bytes.len() + 1))
                .collect();
            at.sort_unstable();
            at.push(bytes.len());
            let mut from = 0;
            for (i, &to) in at.iter().enumerate() {
                let last = i + 1 == at.len();
                tx.send_fragment(message.kind(), bytes[from..to].to_vec(), last)
                    .unwrap();
                from = to;
            }
        }
        expected.push(Event::Message(message));
        if let Some(mut p) = ping {
            p.truncate(125);
            tx.ping(t, p.clone()).unwrap();
            expected.push(Event::Ping(p.into()));
        }
    }
    let mut wire = Vec::new();
    tx.transmit_into(&mut wire);
    let sizes: Vec<usize> = if input.chunks.is_empty() {
        vec![wire.len().max(1)]
    } else {
        input.chunks.iter().map(|&c| usize::from(c) + 1).collect()
    };
    let (mut at, mut i) = (0, 0);
    let mut got = Vec::new();
    while at < wire.len() {
        let n = sizes[i % sizes.len()].min(wire.len() - at);
        wsmachine_fuzz::feed_all(&mut rx, t, &wire[at..at + n], &mut got);
        at += n;
        i += 1;
    }
    got.extend(std::iter::from_fn(|| rx.poll_event()));
    assert_eq!(got, expected);
});
