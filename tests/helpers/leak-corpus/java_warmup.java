// java_warmup — expected label: no-leak.
// Run with: java -Xmx256m java_warmup. Start-up then steady state: for the first LC_WARMUP_S
// seconds (default 30) it loads and links many classes (a few hundred JDK classes by reflection,
// and lambdas), runs several hot loops so C1/C2 compile them (code cache and metaspace grow), and
// fills a 40 MiB reference table; afterwards it only serves "requests" that make short-lived
// garbage. Memory rises during warm-up and is flat after. Env: LC_WARMUP_S, LC_DURATION_S.
import java.util.*;
import java.util.function.*;

public class java_warmup {
    static double env(String name, double dflt) {
        String v = System.getenv(name);
        try { return v == null || v.isEmpty() ? dflt : Double.parseDouble(v); }
        catch (NumberFormatException e) { return dflt; }
    }

    static final String[] CLASSES = {
        "java.util.concurrent.ConcurrentSkipListMap", "java.util.concurrent.ForkJoinPool",
        "java.util.regex.Pattern", "java.text.SimpleDateFormat", "java.time.ZonedDateTime",
        "java.util.stream.Collectors", "java.util.zip.Deflater", "java.util.zip.CRC32",
        "java.math.BigDecimal", "java.math.BigInteger", "java.net.URI", "java.nio.file.Paths",
        "java.util.logging.Logger", "java.util.Base64", "java.security.MessageDigest",
        "java.text.DecimalFormat", "java.util.concurrent.CompletableFuture", "java.util.TreeMap",
        "java.util.PriorityQueue", "java.util.BitSet", "java.time.format.DateTimeFormatter",
        "java.util.Scanner", "java.io.ObjectOutputStream", "java.lang.invoke.MethodHandles",
    };

    public static void main(String[] args) throws Exception {
        double warmup = env("LC_WARMUP_S", 30), duration = env("LC_DURATION_S", 0);
        long start = System.nanoTime();
        List<long[]> table = new ArrayList<>();
        List<Function<Long, Long>> fns = new ArrayList<>();
        long sink = 0;
        int ci = 0;
        for (long n = 1; duration <= 0 || (System.nanoTime() - start) / 1e9 < duration; n++) {
            double t = (System.nanoTime() - start) / 1e9;
            if (t < warmup) {
                if (ci < CLASSES.length) {
                    Class<?> c = Class.forName(CLASSES[ci++]);
                    sink += c.getDeclaredMethods().length;
                }
                if (table.size() < 40 * 1024 * 1024 / (8 * 16384)) table.add(new long[16384]);
                final long k = n;
                fns.add(x -> x * k + (x >>> 3));
                for (Function<Long, Long> f : fns) for (long i = 0; i < 2000; i++) sink += f.apply(i);
                sink += new java.math.BigInteger(Long.toString(n * 7919)).pow(50).bitLength();
                sink += java.util.regex.Pattern.compile("a(b+)c" + n).matcher("abbbc").find() ? 1 : 0;
            } else {
                for (int i = 0; i < 500; i++) sink += ("resp-" + i + "-" + n).hashCode();
                if (!fns.isEmpty()) sink += fns.get((int) (n % fns.size())).apply(n);
                sink += table.get((int) (n % table.size()))[(int) (n % 16384)];
            }
            Thread.sleep(100);
        }
        System.err.println(sink);
    }
}
