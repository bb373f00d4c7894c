//! A server connection driven by an arbitrary sequence of operations (bytes and
//! frames from the peer, every command, time passing, timeouts, partial writes, end
//! of stream) on a monotonic virtual clock. The invariants are checked after each
//! operation by `wsmachine_fuzz::run_ops`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsmachine_fuzz::{Op, Setup, run_ops};

fuzz_target!(|input: (Setup, Vec<Op>)| {
    let (setup, ops) = input;
    run_ops(wsmachine::Role::Server, &setup, ops);
});
