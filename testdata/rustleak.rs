// rustleak: Rust threads stuck in a known way, for tests/integration/rust.sh
// (names demangled, as gdb shows them; stacks whole without a stop though
// Rust's standard library keeps frame pointers).
//
//     rustleak    three workers wait for ever on a condvar nobody signals
//                 (rustleak::worker), and main sleeps (rustleak::main);
//                 prints "ready" once the workers are waiting.
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

#[inline(never)]
fn worker(pair: Arc<(Mutex<usize>, Condvar)>) {
    let (lock, cv) = &*pair;
    let mut waiting = lock.lock().unwrap();
    *waiting += 1;
    cv.notify_all();
    loop {
        waiting = cv.wait(waiting).unwrap();
    }
}

fn main() {
    let pair = Arc::new((Mutex::new(0usize), Condvar::new()));
    for _ in 0..3 {
        let p = Arc::clone(&pair);
        thread::spawn(move || worker(p));
    }
    // Wait for the workers on another condvar-free path: poll the count.
    loop {
        if *pair.0.lock().unwrap() == 3 {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    println!("ready");
    thread::sleep(Duration::from_secs(3600));
}
