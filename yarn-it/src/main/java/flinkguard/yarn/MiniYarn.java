package flinkguard.yarn;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ApplicationSubmissionContext;
import org.apache.hadoop.yarn.api.records.Container;
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext;
import org.apache.hadoop.yarn.api.records.ContainerStatus;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.api.records.UpdatedContainer;
import org.apache.hadoop.yarn.api.records.YarnApplicationAttemptState;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.client.api.async.AMRMClientAsync;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.webapp.util.WebAppUtils;

/**
 * A real YARN for flink-guard's tests: one ResourceManager (with its embedded web proxy at /proxy/) in this JVM, every address on 127.0.0.1 and an ephemeral port. Driven line by line on stdin:
 *
 * <pre>
 *   submit                 -> "submitted application_..."  (type Apache Flink, unmanaged AM, state ACCEPTED)
 *   register ID URL        -> "registered ID"  (the AM registers as Flink's YarnResourceManagerDriver does:
 *                              host and "RPC port" = the REST URL's host and port, tracking URL = the URL)
 *   finish ID              -> "finished ID"    (unregisters SUCCEEDED; waits for state FINISHED)
 * </pre>
 *
 * It prints "rm http://127.0.0.1:PORT" once the cluster serves; a failed command prints "error ...". EOF on stdin
 * stops the cluster.
 */
public final class MiniYarn {
  private static final long WAIT_MS = 60_000;
  private static final int HEARTBEAT_MS = 1_000;

  private final YarnConfiguration conf;
  private final YarnClient client;
  private final Map<ApplicationId, AMRMClientAsync<ContainerRequest>> masters = new ConcurrentHashMap<>();

  private MiniYarn(YarnConfiguration conf) {
    this.conf = conf;
    this.client = YarnClient.createYarnClient();
    client.init(conf);
    client.start();
  }

  public static void main(String[] args) {
    try {
      serve();
    } catch (Throwable e) {
      e.printStackTrace();
      System.out.println("error start: " + e.toString().replace('\n', ' '));
    }
    // The cluster's threads are not daemons: without this a failed start would hang around.
    System.exit(0);
  }

  private static void serve() throws Exception {
    YarnConfiguration conf = new YarnConfiguration();
    // Fixed ports: MiniYARNCluster then keeps these addresses instead of the machine's host name; port 0 is
    // still ephemeral, and the RM writes the bound ports back into the configuration.
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true);
    for (String key :
        List.of(
            YarnConfiguration.RM_ADDRESS,
            YarnConfiguration.RM_ADMIN_ADDRESS,
            YarnConfiguration.RM_SCHEDULER_ADDRESS,
            YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS,
            YarnConfiguration.RM_WEBAPP_ADDRESS)) {
      conf.set(key, "127.0.0.1:0");
    }
    conf.set(YarnConfiguration.RM_BIND_HOST, "127.0.0.1");
    conf.set(YarnConfiguration.NM_BIND_HOST, "127.0.0.1");
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 64);
    // The CapacityScheduler (YARN's default) with its one default queue; the jars carry no capacity-scheduler.xml.
    conf.set("yarn.scheduler.capacity.root.queues", "default");
    conf.set("yarn.scheduler.capacity.root.default.capacity", "100");

    // No NodeManager: unmanaged AMs need none, and Guice's servlet filter is one per JVM, so a NodeManager's web
    // app would take over the RM's (its REST API then answers 404 from the NM's router).
    MiniYARNCluster cluster = new MiniYARNCluster("flink-guard-yarn-it", 0, 1, 1);
    cluster.init(conf);
    cluster.start();
    YarnConfiguration live = new YarnConfiguration(cluster.getConfig());
    String webapp = WebAppUtils.getRMWebAppURLWithoutScheme(live);
    MiniYarn yarn = new MiniYarn(live);
    System.out.println("rm http://127.0.0.1:" + webapp.substring(webapp.lastIndexOf(':') + 1));
    System.out.flush();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.trim().split("\\s+");
      try {
        System.out.println(yarn.run(words));
      } catch (Exception e) {
        e.printStackTrace();
        System.out.println("error " + words[0] + ": " + e.toString().replace('\n', ' '));
      }
      System.out.flush();
    }
    yarn.client.stop();
    cluster.stop();
  }

  private String run(String[] words) throws Exception {
    switch (words[0]) {
      case "submit":
        return "submitted " + submit();
      case "register":
        register(ApplicationId.fromString(words[1]), URI.create(words[2]));
        return "registered " + words[1];
      case "finish":
        finish(ApplicationId.fromString(words[1]));
        return "finished " + words[1];
      default:
        throw new IllegalArgumentException("unknown command " + words[0]);
    }
  }

  /** An application as Flink's YarnClusterDescriptor submits one, but with an unmanaged AM (this JVM). */
  private ApplicationId submit() throws Exception {
    ApplicationSubmissionContext context =
        client.createApplication().getApplicationSubmissionContext();
    context.setApplicationName("flink-guard-it");
    context.setApplicationType("Apache Flink");
    context.setUnmanagedAM(true);
    context.setResource(Resource.newInstance(64, 1));
    context.setAMContainerSpec(
        ContainerLaunchContext.newInstance(null, null, null, null, null, null));
    client.submitApplication(context);
    ApplicationId id = context.getApplicationId();
    // As UnmanagedAMLauncher: the AM may register once its attempt is LAUNCHED.
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (System.currentTimeMillis() < deadline) {
      ApplicationReport report = client.getApplicationReport(id);
      ApplicationAttemptId attempt = report.getCurrentApplicationAttemptId();
      if (report.getYarnApplicationState() == YarnApplicationState.ACCEPTED
          && attempt != null
          && client.getApplicationAttemptReport(attempt).getYarnApplicationAttemptState()
              == YarnApplicationAttemptState.LAUNCHED) {
        return id;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(id + " was not launched within " + WAIT_MS + " ms");
  }

  /**
   * registerApplicationMaster(host, restPort, webInterfaceUrl), as YarnResourceManagerDriver calls it, under
   * the attempt's AMRM token; the async client then heartbeats as Flink's does.
   */
  private void register(ApplicationId id, URI restUrl) throws Exception {
    ApplicationAttemptId attempt = client.getApplicationReport(id).getCurrentApplicationAttemptId();
    UserGroupInformation ugi = UserGroupInformation.createRemoteUser(attempt.toString());
    ugi.addToken(client.getAMRMToken(id));
    AMRMClientAsync<ContainerRequest> master =
        ugi.doAs(
            (PrivilegedExceptionAction<AMRMClientAsync<ContainerRequest>>)
                () -> {
                  AMRMClientAsync<ContainerRequest> async =
                      AMRMClientAsync.createAMRMClientAsync(HEARTBEAT_MS, new NoContainers());
                  async.init(conf);
                  async.start();
                  async.registerApplicationMaster(
                      restUrl.getHost(), restUrl.getPort(), restUrl.toString());
                  return async;
                });
    masters.put(id, master);
  }

  private void finish(ApplicationId id) throws Exception {
    AMRMClientAsync<ContainerRequest> master = masters.remove(id);
    if (master == null) throw new IllegalArgumentException(id + " was not registered here");
    master.unregisterApplicationMaster(FinalApplicationStatus.SUCCEEDED, "finished by the test", null);
    master.stop();
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (System.currentTimeMillis() < deadline) {
      if (client.getApplicationReport(id).getYarnApplicationState() == YarnApplicationState.FINISHED) return;
      Thread.sleep(100);
    }
    throw new IllegalStateException(id + " did not finish within " + WAIT_MS + " ms");
  }

  /** The test's application masters ask for no containers. */
  private static final class NoContainers extends AMRMClientAsync.AbstractCallbackHandler {
    @Override
    public void onContainersCompleted(List<ContainerStatus> statuses) {}

    @Override
    public void onContainersAllocated(List<Container> containers) {}

    @Override
    public void onContainersUpdated(List<UpdatedContainer> containers) {}

    @Override
    public void onShutdownRequest() {}

    @Override
    public void onNodesUpdated(List<NodeReport> updatedNodes) {}

    @Override
    public float getProgress() {
      return 0.5f;
    }

    @Override
    public void onError(Throwable e) {
      e.printStackTrace();
    }
  }
}
