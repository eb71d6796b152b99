// java_g1_settle — expected label: no-leak.
// Run with: java -XX:+UseG1GC -Xmx256m java_g1_settle. A bounded working set under G1: an array
// of 2 000 32 KiB byte[] (~64 MiB) of which 200 random entries are replaced every 100 ms, plus
// small garbage. G1 grows the committed heap while it sizes the young and old generations and then
// holds it: memory climbs in the first tens of seconds and is flat afterwards.
// Env: LC_ENTRIES (2000), LC_DURATION_S (0 = until killed).
import java.util.Random;

public class java_g1_settle {
    static double env(String name, double dflt) {
        String v = System.getenv(name);
        try { return v == null || v.isEmpty() ? dflt : Double.parseDouble(v); }
        catch (NumberFormatException e) { return dflt; }
    }

    public static void main(String[] args) throws InterruptedException {
        int entries = (int) env("LC_ENTRIES", 2000);
        double duration = env("LC_DURATION_S", 0);
        byte[][] set = new byte[entries][];
        Random rng = new Random(15);
        long start = System.nanoTime();
        long sink = 0;
        for (long n = 1; duration <= 0 || (System.nanoTime() - start) / 1e9 < duration; n++) {
            for (int k = 0; k < 200; k++) {
                int i = rng.nextInt(entries);
                byte[] b = new byte[32 * 1024];
                b[k] = (byte) n;
                set[i] = b;
            }
            for (int i = 0; i < 300; i++) sink += ("s" + i + n).length();
            Thread.sleep(100);
        }
        System.err.println(sink + " " + set.length);
    }
}
