// node_warmup — expected label: no-leak.
// A server's start-up then steady state: for the first ~LC_WARMUP_S seconds (default 30) it
// builds a lookup table of up to 60 MiB in 256 KiB chunks and runs many distinct functions hot (V8 compiles them,
// code space and the heap grow); after that it serves "requests" that make only short-lived
// garbage, so memory is flat apart from GC noise. Env: LC_WARMUP_S, LC_DURATION_S (0 = forever).
const warmup = Number(process.env.LC_WARMUP_S || 30) * 1000;
const duration = Number(process.env.LC_DURATION_S || 0) * 1000;
const table = [];
const fns = [];
const start = Date.now();
let n = 0;
function tick() {
  n++;
  const t = Date.now() - start;
  if (t < warmup) {
    // 256 KiB of table per tick (up to 60 MiB) and a fresh function each tick, for warm-up.
    if (table.length < 240) table.push(Array.from({ length: 32768 }, (_, i) => i * 1.5 + n));
    const f = new Function('x', `let s = 0; for (let i = 0; i < 2000; i++) s += (x ^ i) * ${n}; return s;`);
    fns.push(f);
    for (let k = 0; k < 50; k++) f(k);
  } else {
    let garbage = [];
    for (let i = 0; i < 10000; i++) garbage.push({ i, s: 'resp-' + (i % 97) });
    garbage = null;
    const f = fns[n % fns.length];
    if (f) f(n);
    void table[n % table.length][n % 32768];
  }
  if (duration > 0 && t >= duration) return;
  setTimeout(tick, Math.max(0, start + n * 100 - Date.now()));
}
tick();
