// java_g1_leak — expected label: leak.
// Run with: java -XX:+UseG1GC -Xmx512m java_g1_leak. A service under G1 that makes plenty of
// short-lived garbage (the heap saws) and also keeps every request's 64 KiB byte[] in a static
// "history" list it never trims: the retained set grows ~0.6 MiB/s (LC_RATE_KIB, default 640),
// so G1 keeps expanding the committed heap, until LC_CAP_MIB (default 350, under -Xmx512m) is
// held; then flat. Env: LC_RATE_KIB, LC_CAP_MIB, LC_DURATION_S (0 = until killed).
import java.util.ArrayList;
import java.util.List;

public class java_g1_leak {
    static final List<byte[]> HISTORY = new ArrayList<>();

    static double env(String name, double dflt) {
        String v = System.getenv(name);
        try { return v == null || v.isEmpty() ? dflt : Double.parseDouble(v); }
        catch (NumberFormatException e) { return dflt; }
    }

    public static void main(String[] args) throws InterruptedException {
        double rate = env("LC_RATE_KIB", 640) * 1024;
        long cap = (long) (env("LC_CAP_MIB", 350) * 1048576);
        double duration = env("LC_DURATION_S", 0);
        int chunk = 64 * 1024;
        double period = chunk / rate; // seconds per retained chunk
        long start = System.nanoTime();
        long kept = 0;
        long sink = 0;
        for (long n = 1; duration <= 0 || (System.nanoTime() - start) / 1e9 < duration; n++) {
            for (int i = 0; i < 200; i++) {
                StringBuilder sb = new StringBuilder();
                sb.append("req-").append(n).append('-').append(i);
                sink += sb.toString().hashCode() + new long[64].length;
            }
            if (kept + chunk <= cap) {
                byte[] b = new byte[chunk];
                java.util.Arrays.fill(b, (byte) n);
                HISTORY.add(b);
                kept += chunk;
            }
            long due = start + (long) (n * period * 1e9);
            long wait = due - System.nanoTime();
            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        System.err.println(HISTORY.size() + " " + sink);
    }
}
