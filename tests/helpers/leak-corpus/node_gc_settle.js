// node_gc_settle — expected label: no-leak.
// A working set that is replaced, not grown: 200 000 small records in an array, and every 10 ms
// 5 000 random records are replaced by new ones. Old records become garbage in old space, so the
// heap climbs while V8 sizes its old generation and then settles to a steady sawtooth with a
// flat floor. Env: LC_RECORDS (200000), LC_DURATION_S (0 = forever).
const records = Number(process.env.LC_RECORDS || 200000);
const duration = Number(process.env.LC_DURATION_S || 0) * 1000;
const set = new Array(records);
for (let i = 0; i < records; i++) set[i] = { id: i, tag: 'r' + i, v: [i, i + 1, i + 2] };
const start = Date.now();
let n = 0;
let seed = 15;
function rnd() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; }
function tick() {
  n++;
  for (let k = 0; k < 5000; k++) {
    const i = rnd() % records;
    set[i] = { id: i, tag: 'r' + i + '-' + n, v: [n, i, k] };
  }
  if (duration > 0 && Date.now() - start >= duration) return;
  setTimeout(tick, Math.max(0, start + n * 10 - Date.now()));
}
tick();
