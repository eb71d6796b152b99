// node_sawtooth_leak — expected label: leak.
// An event handler that allocates lots of short-lived objects per event (the V8 heap climbs and
// drops in a GC sawtooth) and also pushes one 8192-element array per 100 ms onto a listener list
// that is never cleared: the sawtooth's floor rises ~0.6 MiB/s (LC_RATE_KIB, default 640) until
// LC_CAP_MIB (default 400) is retained. Env: LC_RATE_KIB, LC_CAP_MIB, LC_DURATION_S (0 = forever).
const rateKib = Number(process.env.LC_RATE_KIB || 640);
const cap = Number(process.env.LC_CAP_MIB || 400) * 1048576;
const duration = Number(process.env.LC_DURATION_S || 0) * 1000;
const listeners = [];
const perArray = 8192 * 8; // bytes of doubles per retained array
const start = Date.now();
let retained = 0;
let n = 0;
function tick() {
  n++;
  let garbage = [];
  for (let i = 0; i < 5000; i++) garbage.push({ id: i, name: 'evt-' + i, at: n });
  garbage = null;
  if (n % 10 === 0 && retained + perArray <= cap) {
    const reps = Math.max(1, Math.round((rateKib * 1024 * 0.1) / perArray)); // per 100 ms
    for (let r = 0; r < reps; r++) {
      const a = new Float64Array(8192).fill(n + 0.5);
      listeners.push(Array.from(a));
      retained += perArray;
    }
  }
  if (duration > 0 && Date.now() - start >= duration) return;
  setTimeout(tick, Math.max(0, start + n * 10 - Date.now()));
}
tick();
