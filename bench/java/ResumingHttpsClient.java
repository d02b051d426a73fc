import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * A JSSE client shaped like Flink's RestClient: a new TLS connection for every request, `Connection: close`,
 * and the JDK's own session cache offering the last session of the same host and port for resumption.
 * Flink's SSLUtils.createRestNettySSLContext builds the same thing through Netty's JDK provider: an
 * SSLContext "TLS" with the truststore's default TrustManagerFactory, the protocol of security.ssl.protocol,
 * and an engine made for (host, port), which is what keys the JDK's client session cache.
 *
 *   java ResumingHttpsClient.java <host> <port> <path> <truststore.p12> <password> <TLSv1.2|TLSv1.3>
 *        <threads> <seconds> [header: value]...
 *
 * Prints one JSON line: requests, errors, req/s, p50 and p99 in ms, and how many handshakes the client saw
 * resumed (a session created before the connection: JSSE's own view, checked against the server's count).
 */
public final class ResumingHttpsClient {
  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    String path = args[2];
    String protocol = args[5];
    int threads = Integer.parseInt(args[6]);
    double seconds = Double.parseDouble(args[7]);
    StringBuilder extra = new StringBuilder();
    for (String header : Arrays.copyOfRange(args, 8, args.length)) extra.append(header).append("\r\n");
    byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n" + extra
            + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

    KeyStore trust = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Path.of(args[3]))) {
      trust.load(in, args[4].toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    SSLSocketFactory factory = context.getSocketFactory();

    AtomicLong errors = new AtomicLong();
    AtomicLong resumed = new AtomicLong();
    List<long[]> latencies = new ArrayList<>();
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    List<Thread> workers = new ArrayList<>();
    long started = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      long[] own = new long[2_000_000];
      latencies.add(own);
      Thread worker = new Thread(() -> {
        int count = 0;
        byte[] buffer = new byte[16_384];
        while (System.nanoTime() < deadline && count < own.length - 1) {
          long begin = System.nanoTime();
          long beginMs = System.currentTimeMillis();
          try (SSLSocket socket = (SSLSocket) factory.createSocket(host, port)) {
            socket.setEnabledProtocols(new String[] {protocol});
            socket.setSoTimeout(10_000);
            // Netty's default for a client channel, as Flink's RestClient gets it.
            socket.setTcpNoDelay(true);
            socket.startHandshake();
            if (socket.getSession().getCreationTime() < beginMs) resumed.incrementAndGet();
            OutputStream out = socket.getOutputStream();
            out.write(request);
            out.flush();
            InputStream in = socket.getInputStream();
            int total = 0;
            for (int read; (read = in.read(buffer)) != -1; ) total += read;
            if (total < 12 || buffer[9] != '2') errors.incrementAndGet();
            own[++count] = System.nanoTime() - begin;
          } catch (Exception e) {
            errors.incrementAndGet();
          }
        }
        own[0] = count;
      });
      workers.add(worker);
      worker.start();
    }
    for (Thread worker : workers) worker.join();
    double elapsed = (System.nanoTime() - started) / 1e9;
    List<Long> all = new ArrayList<>();
    for (long[] own : latencies) for (int i = 1; i <= own[0]; i++) all.add(own[i]);
    all.sort(null);
    double p50 = all.isEmpty() ? 0 : all.get(all.size() / 2) / 1e6;
    double p99 = all.isEmpty() ? 0 : all.get(Math.min(all.size() - 1, (int) (all.size() * 0.99))) / 1e6;
    System.out.printf(
        "{\"requests\":%d,\"errors\":%d,\"requestsPerSec\":%.1f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"resumedByClient\":%d}%n",
        all.size(), errors.get(), all.size() / elapsed, p50, p99, resumed.get());
  }
}
