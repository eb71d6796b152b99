// node_step_leak — expected label: leak.
// A worker that, every LC_STEP_S seconds (default 20), loads a new 20 MiB "model" Buffer into a
// registry and never unloads the previous one: resident memory rises in steps (15 in 300 s) over
// a steady request loop's light garbage, capped at LC_CAP_MIB (default 400).
// Env: LC_STEP_S, LC_STEP_MIB (20), LC_CAP_MIB, LC_DURATION_S (0 = forever).
const step = Number(process.env.LC_STEP_S || 20) * 1000;
const size = Number(process.env.LC_STEP_MIB || 20) * 1048576;
const cap = Number(process.env.LC_CAP_MIB || 400) * 1048576;
const duration = Number(process.env.LC_DURATION_S || 0) * 1000;
const registry = [];
const start = Date.now();
let next = start + step;
let n = 0;
function tick() {
  n++;
  let junk = [];
  for (let i = 0; i < 2000; i++) junk.push('req-' + i + '-' + n);
  junk = null;
  if (Date.now() >= next) {
    next += step;
    if ((registry.length + 1) * size <= cap) registry.push(Buffer.alloc(size, registry.length + 1));
  }
  if (duration > 0 && Date.now() - start >= duration) return;
  setTimeout(tick, Math.max(0, start + n * 20 - Date.now()));
}
tick();
