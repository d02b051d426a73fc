package flinkguard.it;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.SecurityOptions;
import org.apache.flink.runtime.net.SSLUtils;
import org.apache.flink.util.NetUtils;

/**
 * What Flink itself makes of a conf directory, for flink-guard's flinkConf test: the file is loaded by
 * GlobalConfiguration, each REST and SSL key read through Flink's own ConfigOption (with its fallback and
 * deprecated keys) and, where SSLUtils resolves a key itself, through SSLUtils' private methods. One JSON
 * object per directory argument, one per line.
 */
public final class ConfProbe {
    public static void main(String[] args) throws Exception {
        for (String dir : args) System.out.println(probe(dir));
    }

    private static String probe(String dir) {
        StringBuilder out = new StringBuilder("{\"dir\":").append(quote(dir));
        Configuration config;
        try {
            config = GlobalConfiguration.loadConfiguration(dir);
        } catch (RuntimeException e) {
            return out.append(",\"error\":").append(quote(e.getMessage())).append('}').toString();
        }
        field(out, "restAddress", config.get(RestOptions.ADDRESS));
        field(out, "bindAddress", config.get(RestOptions.BIND_ADDRESS));
        field(out, "bindPorts", ports(config.get(RestOptions.BIND_PORT)));
        field(out, "restSsl", SecurityOptions.isRestSSLEnabled(config));
        field(out, "mutual", SecurityOptions.isRestSSLAuthenticationEnabled(config));
        field(out, "keystore", checked(config, "SSL_REST_KEYSTORE", "SSL_KEYSTORE"));
        field(out, "keystorePassword", checked(config, "SSL_REST_KEYSTORE_PASSWORD", "SSL_KEYSTORE_PASSWORD"));
        field(out, "keyPassword", checked(config, "SSL_REST_KEY_PASSWORD", "SSL_KEY_PASSWORD"));
        // SSLUtils.getTrustManagerFactory reads the truststore inline: config.get(REST, config.get(general)).
        field(out, "truststore", config.get(SecurityOptions.SSL_REST_TRUSTSTORE, config.get(SecurityOptions.SSL_TRUSTSTORE)));
        field(out, "truststorePassword", config.get(SecurityOptions.SSL_REST_TRUSTSTORE_PASSWORD, config.get(SecurityOptions.SSL_TRUSTSTORE_PASSWORD)));
        field(out, "fingerprint", config.get(SecurityOptions.SSL_REST_CERT_FINGERPRINT));
        field(out, "protocols", call("getEnabledProtocols", config));
        field(out, "ciphers", call("getEnabledCipherSuites", config));
        field(out, "verifyHostname", restVerifyHostname(config));
        return out.append('}').toString();
    }

    /** SSLUtils.getAndCheckOption: the REST key, else the general one; null where Flink would refuse. */
    @SuppressWarnings("unchecked")
    private static String checked(Configuration config, String rest, String general) {
        try {
            Method method = SSLUtils.class.getDeclaredMethod("getAndCheckOption", Configuration.class, ConfigOption.class, ConfigOption.class);
            method.setAccessible(true);
            return (String) method.invoke(null, config, option(rest), option(general));
        } catch (java.lang.reflect.InvocationTargetException e) {
            return null;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ConfigOption<?> option(String name) throws ReflectiveOperationException {
        return (ConfigOption<?>) SecurityOptions.class.getField(name).get(null);
    }

    private static String[] call(String name, Configuration config) {
        try {
            Method method = SSLUtils.class.getDeclaredMethod(name, Configuration.class);
            method.setAccessible(true);
            return (String[]) method.invoke(null, config);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** 2.x's security.ssl.rest.verify-hostname; 1.x's REST client has no hostname check at all (false). */
    private static Object restVerifyHostname(Configuration config) {
        try {
            Field field = SecurityOptions.class.getField("SSL_REST_VERIFY_HOSTNAME");
            return config.get((ConfigOption<?>) field.get(null));
        } catch (NoSuchFieldException e) {
            return false;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first ports of rest.bind-port as Flink's RestServerEndpoint tries them; null when unparsable. */
    private static List<Integer> ports(String value) {
        try {
            Iterator<Integer> iterator = NetUtils.getPortRangeFromString(value);
            List<Integer> ports = new ArrayList<>();
            while (iterator.hasNext() && ports.size() < 3) ports.add(iterator.next());
            return ports;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static void field(StringBuilder out, String name, Object value) {
        out.append(',').append(quote(name)).append(':').append(json(value));
    }

    private static String json(Object value) {
        if (value == null) return "null";
        if (value instanceof Boolean || value instanceof Number) return value.toString();
        if (value instanceof String[]) return json(List.of((String[]) value));
        if (value instanceof List) {
            StringBuilder list = new StringBuilder("[");
            for (Object item : (List<?>) value) list.append(list.length() > 1 ? "," : "").append(json(item));
            return list.append(']').toString();
        }
        return quote(value.toString());
    }

    private static String quote(String text) {
        StringBuilder quoted = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') quoted.append('\\').append(c);
            else if (c < 0x20) quoted.append(String.format("\\u%04x", (int) c));
            else quoted.append(c);
        }
        return quoted.append('"').toString();
    }
}
