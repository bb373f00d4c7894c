use alloc::string::ToString;

use super::*;

fn ext(s: &str) -> Extension {
    let mut headers = crate::Headers::new();
    headers.push("Sec-WebSocket-Extensions", s);
    let mut all = Extension::parse_all(&headers).unwrap();
    assert_eq!(all.len(), 1, "{s}");
    all.remove(0)
}

fn answer(offer: &str, config: &DeflateConfig) -> Option<String> {
    negotiate(&[ext(offer)], config).map(|(e, _)| e.to_string())
}

#[test]
fn a_server_answers_what_the_offer_and_its_settings_ask() {
    let plain = DeflateConfig::default();
    assert_eq!(
        answer("permessage-deflate", &plain).unwrap(),
        "permessage-deflate"
    );
    assert_eq!(
        answer("permessage-deflate; client_max_window_bits", &plain).unwrap(),
        "permessage-deflate"
    );
    assert_eq!(
        answer(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            &plain
        )
        .unwrap(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
    );
    // An offered server window is answered, even when it is 15.
    assert_eq!(
        answer("permessage-deflate; server_max_window_bits=15", &plain).unwrap(),
        "permessage-deflate; server_max_window_bits=15"
    );
    let small = DeflateConfig {
        server_max_window_bits: 11,
        client_max_window_bits: 9,
        client_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    // The client window is only imposed when the client offered the parameter.
    assert_eq!(
        answer("permessage-deflate", &small).unwrap(),
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=11"
    );
    assert_eq!(
        answer("permessage-deflate; client_max_window_bits=12", &small).unwrap(),
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9"
    );
    // An 8-bit limit is accepted (the server then sends uncompressed).
    let (_, params) = negotiate(
        &[ext("permessage-deflate; server_max_window_bits=8")],
        &plain,
    )
    .unwrap();
    assert_eq!(params.server_max_window_bits, 8);
}

#[test]
fn a_server_declines_malformed_offers_and_takes_the_next() {
    let config = DeflateConfig::default();
    for bad in [
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=1; client_max_window_bits",
    ] {
        assert_eq!(answer(bad, &config), None, "{bad}");
        let offers = [ext(bad), ext("permessage-deflate; client_max_window_bits")];
        let (answer, _) = negotiate(&offers, &config).unwrap();
        assert_eq!(answer.to_string(), "permessage-deflate", "after {bad}");
    }
    // A quoted value is read unquoted (RFC 7692 §7.1).
    assert!(answer("permessage-deflate; client_max_window_bits=\"10\"", &config).is_some());
    // Other extensions are not ours to answer.
    assert_eq!(negotiate(&[ext("x-webkit-deflate-frame")], &config), None);
}

#[test]
fn a_client_offers_in_order_of_preference() {
    let offers =
        |c: &DeflateConfig| -> Vec<String> { c.offers().iter().map(ToString::to_string).collect() };
    assert_eq!(
        offers(&DeflateConfig::default()),
        ["permessage-deflate; client_max_window_bits"]
    );
    let mut c = DeflateConfig {
        server_max_window_bits: 10,
        server_no_context_takeover: true,
        client_max_window_bits: 12,
        ..DeflateConfig::default()
    };
    assert_eq!(
        offers(&c),
        [
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
            "permessage-deflate; client_max_window_bits=12",
        ]
    );
    c.fallback = false;
    assert_eq!(offers(&c).len(), 1);
}

#[test]
fn a_client_checks_the_answer_against_its_offers() {
    let mut c = DeflateConfig {
        server_max_window_bits: 10,
        fallback: false,
        ..DeflateConfig::default()
    };
    let offers = c.offers();
    let check = |s: &str| check_response(&ext(s), &offers);
    let p =
        check("permessage-deflate; server_max_window_bits=9; client_max_window_bits=11").unwrap();
    assert_eq!(
        (p.server_max_window_bits, p.client_max_window_bits),
        (9, 11)
    );
    // A window larger than offered, or the restriction left out.
    assert_eq!(
        check("permessage-deflate; server_max_window_bits=12"),
        Err(DeflateError::NotOffered)
    );
    assert_eq!(check("permessage-deflate"), Err(DeflateError::NotOffered));
    // Malformed answers.
    assert_eq!(
        check("permessage-deflate; server_max_window_bits=10; client_max_window_bits"),
        Err(DeflateError::MissingValue("client_max_window_bits"))
    );
    assert_eq!(
        check("permessage-deflate; server_max_window_bits=10; bogus"),
        Err(DeflateError::UnknownParameter("bogus".into()))
    );
    // With the fallback offered, the plain answer is fine.
    c.fallback = true;
    let offers = c.offers();
    assert!(check_response(&ext("permessage-deflate"), &offers).is_ok());
    // client_max_window_bits may only be answered when offered.
    let bare = [ext("permessage-deflate")];
    assert_eq!(
        check_response(&ext("permessage-deflate; client_max_window_bits=10"), &bare),
        Err(DeflateError::NotOffered)
    );
}

#[test]
fn a_client_keeps_the_promises_of_an_offer_that_fits_the_answer() {
    let offers = [
        ext("permessage-deflate; server_max_window_bits=10; client_max_window_bits"),
        ext("permessage-deflate; client_no_context_takeover; client_max_window_bits=11"),
        ext("permessage-deflate; client_max_window_bits"),
    ];
    let in_force = |answer: &str| {
        let p = check_response(&ext(answer), &offers).unwrap();
        (p.client_no_context_takeover, p.client_max_window_bits)
    };
    // Fits the second and third: the second's promises hold, though the answer
    // leaves them out.
    assert_eq!(in_force("permessage-deflate"), (true, 11));
    assert_eq!(
        in_force("permessage-deflate; client_max_window_bits=10"),
        (true, 10)
    );
    // Fits the first only, or the third only: nothing was promised.
    assert_eq!(
        in_force("permessage-deflate; server_max_window_bits=9; client_max_window_bits=12"),
        (false, 12)
    );
    assert_eq!(
        in_force("permessage-deflate; client_max_window_bits=13"),
        (false, 13)
    );
    // A server window answered where none was offered is taken: it limits only the
    // server (Python websockets answers 12 bits to every offer).
    let bare = [ext("permessage-deflate")];
    let p = check_response(&ext("permessage-deflate; server_max_window_bits=12"), &bare).unwrap();
    assert_eq!(p.server_max_window_bits, 12);
}

#[test]
fn settings_out_of_range_are_named() {
    let mut c = DeflateConfig::default();
    assert_eq!(c.invalid(), None);
    c.client_max_window_bits = 16;
    assert_eq!(c.invalid().unwrap().0, "deflate.client_max_window_bits");
    c.client_max_window_bits = 8;
    c.level = 10;
    assert_eq!(c.invalid().unwrap().0, "deflate.level");
}

#[test]
fn negotiated_extensions_are_read_once() {
    assert_eq!(find(&[]), Ok(None));
    let p = find(&[ext("permessage-deflate; client_no_context_takeover")])
        .unwrap()
        .unwrap();
    assert!(p.client_no_context_takeover);
    let twice = [ext("permessage-deflate"), ext("permessage-deflate")];
    assert_eq!(find(&twice), Err(DeflateError::Repeated));
}
