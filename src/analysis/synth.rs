//! A seeded generator of labelled synthetic memory traces, to measure the leak detector's
//! accuracy (precision, recall, slope error, interval coverage). Shapes: linear leaks under
//! AR(1) noise, staircase leaks, sawtooth plus leak, warm-up then plateau, noisy stable with
//! spikes and a daily cycle, a leaking process restarted (pid change), one level shift, and
//! stable AR(1) noise; spans from ten minutes to three days, intervals from 1 s to 60 s.

use crate::trace::Series;

/// A small deterministic PRNG (xorshift64*), so traces are reproducible from a seed.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, 0 included: the state is made odd).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 uniformly distributed bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// One element of `xs`, uniformly (panics when `xs` is empty).
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
}

/// A labelled trace.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The shape it was generated with, one of [`SHAPES`].
    pub shape: &'static str,
    /// True when the trace leaks (growth of at least 5 % over the analysed part).
    pub leak: bool,
    /// The true leak rate in bytes per second (0 when not leaking); for a staircase, the mean.
    pub slope: f64,
    /// Growth over the span, percent.
    pub growth_pct: f64,
    /// The trace itself: times in seconds since the first sample, values in bytes.
    pub series: Series,
}

const MIB: f64 = 1048576.0;

/// Generate one labelled trace of the given shape.
pub fn generate(shape: &'static str, rng: &mut Rng) -> Labelled {
    let span = rng.pick(&[600.0, 3600.0, 6.0 * 3600.0, 24.0 * 3600.0, 3.0 * 86400.0]);
    let mut dt = rng.pick(&[1.0, 5.0, 15.0, 60.0]);
    // Keep between 200 and 20,000 samples.
    while span / dt > 20_000.0 {
        dt *= 2.0;
    }
    while span / dt < 200.0 {
        dt /= 2.0;
    }
    let n = (span / dt) as usize;
    let base = (100.0 + 400.0 * rng.uniform()) * MIB;
    let phi = 0.5 + 0.45 * rng.uniform();
    let sigma = base * (0.002 + 0.008 * rng.uniform());
    let growth = rng.pick(&[0.05, 0.1, 0.25, 0.5, 1.0]);
    let slope = growth * base / span;
    let mut noise = 0.0;
    let mut t = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    let mut pid = Vec::with_capacity(n);
    let saw_period = rng
        .pick(&[30.0_f64, 60.0, 120.0, 300.0])
        .max(8.0 * dt)
        .min(span / 20.0);
    let saw_amp = base * (0.05 + 0.15 * rng.uniform());
    let step_at = span * (0.3 + 0.4 * rng.uniform());
    let step = base * (0.1 + 0.1 * rng.uniform());
    let restart_at = span * (0.2 + 0.2 * rng.uniform());
    let stairs = 10.0 + (rng.uniform() * 20.0).floor();
    let warm_amp = base * (0.2 + 0.3 * rng.uniform());
    let tau = span / (8.0 + 8.0 * rng.uniform());
    for i in 0..n {
        let x = i as f64 * dt;
        noise = phi * noise + sigma * (1.0 - phi * phi).sqrt() * rng.normal();
        let mut p = 1000;
        let y = match shape {
            "linear" => base + slope * x,
            "staircase" => base + growth * base * ((x / span * stairs).floor() / stairs),
            "sawtooth" => base + slope * x + saw_amp * ((x % saw_period) / saw_period),
            "warmup" => base + warm_amp * (1.0 - (-x / tau).exp()),
            "daily" => {
                let spike = if rng.uniform() < 0.01 {
                    base * 0.2 * rng.uniform()
                } else {
                    0.0
                };
                base + base * 0.015 * (2.0 * std::f64::consts::PI * x / 86400.0).sin() + spike
            }
            "restart" => {
                if x < restart_at {
                    base + slope * x
                } else {
                    p = 2000;
                    base + slope * (x - restart_at)
                }
            }
            "levelshift" => base + if x >= step_at { step } else { 0.0 },
            _ => base,
        };
        t.push(x);
        v.push((y + noise).max(0.0));
        pid.push(Some(p));
    }
    let leaking = matches!(shape, "linear" | "staircase" | "sawtooth" | "restart");
    let true_growth = match shape {
        "restart" => slope * (span - restart_at) / base * 100.0,
        _ if leaking => growth * 100.0,
        _ => 0.0,
    };
    Labelled {
        shape,
        leak: leaking && true_growth >= 5.0,
        slope: if leaking { slope } else { 0.0 },
        growth_pct: true_growth,
        series: Series {
            name: format!("synthetic-{shape}"),
            metric: "anon_bytes".into(),
            metric_reason: "synthetic".into(),
            t,
            v,
            pid,
            interval_s: Some(dt),
            ..Series::default()
        },
    }
}

/// The shapes [`generate`] knows.
pub const SHAPES: [&str; 8] = [
    "linear",
    "staircase",
    "sawtooth",
    "warmup",
    "daily",
    "restart",
    "levelshift",
    "stable",
];
