package dev.driftwatch.opensearchlocal;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts a single embedded OpenSearch node on the plain classpath (no Docker, no distribution
 * tarball). Runs as root because the root check lives in {@code org.opensearch.bootstrap.Bootstrap},
 * which is bypassed here; bootstrap checks are likewise not enforced.
 *
 * <p>Usage: {@code java -jar target/opensearch-local.jar [homeDir]}
 *
 * <p>Environment:
 * <ul>
 *   <li>{@code OPENSEARCH_LOCAL_HOME} – home/data/log directory (default {@code infra/opensearch-local/.data})</li>
 *   <li>{@code OPENSEARCH_PORT} – HTTP port (default 9200)</li>
 *   <li>{@code OPENSEARCH_TRANSPORT_PORT} – transport port or range (default 9300-9399)</li>
 *   <li>{@code OPENSEARCH_HOST} – bind address (default 127.0.0.1)</li>
 * </ul>
 */
public final class OpenSearchLocal {

    /** Modules a stock distribution would load from {@code modules/}; here they come from the classpath. */
    static final List<Class<? extends Plugin>> CLASSPATH_PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        PainlessPlugin.class
    );

    /** Exposes Node's protected constructor that accepts classpath plugins. */
    static final class LocalNode extends Node {
        LocalNode(Environment environment, Collection<Class<? extends Plugin>> classpathPlugins) {
            super(environment, classpathPlugins, true);
        }
    }

    private OpenSearchLocal() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(firstNonBlank(
            args.length > 0 ? args[0] : null,
            System.getenv("OPENSEARCH_LOCAL_HOME"),
            "infra/opensearch-local/.data"
        )).toAbsolutePath().normalize();
        String host = firstNonBlank(System.getenv("OPENSEARCH_HOST"), "127.0.0.1");
        String httpPort = firstNonBlank(System.getenv("OPENSEARCH_PORT"), "9200");
        String transportPort = firstNonBlank(System.getenv("OPENSEARCH_TRANSPORT_PORT"), "9300-9399");

        Path config = home.resolve("config");
        Path data = home.resolve("data");
        Path logs = home.resolve("logs");
        for (Path p : List.of(config, data, logs, home.resolve("plugins"), home.resolve("modules"))) {
            Files.createDirectories(p);
        }
        installLogConfig(config);

        Settings settings = Settings.builder()
            .put("cluster.name", "opensearch-local")
            .put("node.name", "opensearch-local-0")
            .put(Environment.PATH_HOME_SETTING.getKey(), home.toString())
            .putList(Environment.PATH_DATA_SETTING.getKey(), data.toString())
            .put(Environment.PATH_LOGS_SETTING.getKey(), logs.toString())
            .put("network.host", host)
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            // disk may be nearly full on dev/CI machines: never go read-only / refuse allocation
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .build();

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Map.of(), config, () -> "opensearch-local-0");

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("opensearch-local-0");
        LogConfigurator.configure(environment);

        Path pidFile = home.resolve("opensearch.pid");
        Files.writeString(pidFile, Long.toString(ProcessHandle.current().pid()) + "\n", StandardCharsets.US_ASCII);

        final LocalNode node;
        try {
            node = new LocalNode(environment, CLASSPATH_PLUGINS);
        } catch (Throwable t) {
            failStartup(t, pidFile);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                try {
                    Files.deleteIfExists(pidFile);
                } catch (IOException ignored) {
                    // best effort
                }
                stopped.countDown();
            }
        }, "opensearch-local-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            failStartup(t, pidFile); // the shutdown hook closes the node
        }
        applySingleNodeDefaults(node);
        System.out.println("opensearch-local: started, http://" + host + ":" + httpPort
            + " home=" + home + " pid=" + ProcessHandle.current().pid());
        // OpenSearch's thread pools use daemon threads: keep the JVM alive until shutdown.
        stopped.await();
    }

    private static void failStartup(Throwable t, Path pidFile) {
        System.err.println("opensearch-local: failed to start: " + t);
        t.printStackTrace();
        try {
            Files.deleteIfExists(pidFile);
        } catch (IOException ignored) {
            // best effort
        }
        System.exit(1);
    }

    /**
     * Single node: new indices default to 0 replicas so health can be green. This setting is read
     * from cluster metadata (persistent/transient), not node settings, hence applied after start.
     * Explicit {@code index.number_of_replicas} still wins. start.sh waits until this is visible.
     */
    private static void applySingleNodeDefaults(Node node) {
        try {
            node.client().admin().cluster().prepareUpdateSettings()
                .setPersistentSettings(Settings.builder().put("cluster.default_number_of_replicas", 0))
                .get(TimeValue.timeValueSeconds(30));
        } catch (Exception e) {
            System.err.println("opensearch-local: could not set cluster.default_number_of_replicas=0: " + e);
        }
    }

    /** Writes the bundled log4j2 config into the node's config dir (LogConfigurator reads it from there). */
    private static void installLogConfig(Path config) throws IOException {
        try (InputStream in = OpenSearchLocal.class.getResourceAsStream("/opensearch-local-log4j2.properties")) {
            if (in == null) {
                throw new IOException("bundled opensearch-local-log4j2.properties missing from classpath");
            }
            Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String firstNonBlank(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        throw new IllegalArgumentException("no value");
    }
}
