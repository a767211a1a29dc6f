// spin.js: Node.js's main thread spinning for ever in JavaScript that V8
// has compiled (tests/integration/jit-perfmap.sh runs it with
// --perf-basic-prof, so the compiled code is named in /tmp/perf-PID.map).
// Prints "ready" once both functions have run long enough to be
// optimized, then never returns.
'use strict';

function spinInnerLoop(n) {
	let x = 0;
	for (let i = 0; i < n; i++)
		x = (x * 31 + i) | 0;
	return x;
}

function spinOuter(rounds) {
	let acc = 0;
	for (let r = 0; r < rounds; r++)
		acc ^= spinInnerLoop(10000);
	return acc;
}

// warm up: thousands of calls make V8 compile both with its optimizer
let acc = 0;
for (let i = 0; i < 2000; i++)
	acc ^= spinOuter(10);
process.stdout.write('ready\n', () => {
	for (;;)
		acc ^= spinOuter(1000);
});
