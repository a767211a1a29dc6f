// rustleak: Rust threads stuck in a known way, for tests/integration/rust.sh
// (names demangled, as gdb shows them; stacks whole without a stop though
// Rust's standard library keeps frame pointers).
//
//     rustleak        three workers (started by rustleak::start_worker)
//                     wait for ever on a condvar nobody signals
//                     (rustleak::worker), and main sleeps (rustleak::main);
//                     prints "ready" once the workers are waiting.
//     rustleak exit   one such worker, then main returns: a thread left
//                     behind at exit, for `threadleak check`.
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

type Shared = Arc<(Mutex<usize>, Condvar)>;

#[inline(never)]
fn worker(pair: Shared) {
    let (lock, cv) = &*pair;
    let mut waiting = lock.lock().unwrap();
    *waiting += 1;
    cv.notify_all();
    loop {
        waiting = cv.wait(waiting).unwrap();
    }
}

#[inline(never)]
fn start_worker(pair: &Shared) {
    let p = Arc::clone(pair);
    thread::spawn(move || worker(p));
}

// Polls the count of waiting workers (no condvar: nothing else to wake).
fn wait_for(pair: &Shared, n: usize) {
    while *pair.0.lock().unwrap() < n {
        thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let pair: Shared = Arc::new((Mutex::new(0), Condvar::new()));
    if std::env::args().nth(1).as_deref() == Some("exit") {
        start_worker(&pair);
        wait_for(&pair, 1);
        println!("done exit");
        return;
    }
    for _ in 0..3 {
        start_worker(&pair);
    }
    wait_for(&pair, 3);
    println!("ready");
    thread::sleep(Duration::from_secs(3600));
}
