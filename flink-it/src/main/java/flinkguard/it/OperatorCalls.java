package flinkguard.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.SecurityOptions;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.JobResourceRequirements;
import org.apache.flink.runtime.highavailability.nonha.standalone.StandaloneClientHAServices;
import org.apache.flink.runtime.rest.FileUpload;
import org.apache.flink.runtime.rest.RestClient;
import org.apache.flink.runtime.rest.messages.ClusterConfigurationInfoHeaders;
import org.apache.flink.runtime.rest.messages.DashboardConfigurationHeaders;
import org.apache.flink.runtime.rest.messages.EmptyMessageParameters;
import org.apache.flink.runtime.rest.messages.EmptyRequestBody;
import org.apache.flink.runtime.rest.messages.JobExceptionsHeaders;
import org.apache.flink.runtime.rest.messages.JobMessageParameters;
import org.apache.flink.runtime.rest.messages.JobsOverviewHeaders;
import org.apache.flink.runtime.rest.messages.TriggerId;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointIdPathParameter;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointStatisticDetailsHeaders;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointStatusHeaders;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointTriggerHeaders;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointTriggerRequestBody;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointingStatisticsHeaders;
import org.apache.flink.runtime.rest.messages.cluster.JobManagerLogListHeaders;
import org.apache.flink.runtime.rest.messages.cluster.ShutdownHeaders;
import org.apache.flink.runtime.rest.messages.job.JobResourceRequirementsBody;
import org.apache.flink.runtime.rest.messages.job.JobResourceRequirementsHeaders;
import org.apache.flink.runtime.rest.messages.job.JobResourcesRequirementsUpdateHeaders;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregateTaskManagerMetricsParameters;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregatedSubtaskMetricsHeaders;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregatedSubtaskMetricsParameters;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregatedTaskManagerMetricsHeaders;
import org.apache.flink.runtime.rest.messages.job.metrics.JobManagerMetricsHeaders;
import org.apache.flink.runtime.rest.messages.job.metrics.JobManagerMetricsMessageParameters;
import org.apache.flink.runtime.rest.messages.job.metrics.JobMetricsHeaders;
import org.apache.flink.runtime.rest.messages.job.metrics.MetricsAggregationParameter;
import org.apache.flink.runtime.rest.messages.job.metrics.MetricsFilterParameter;
import org.apache.flink.runtime.rest.messages.job.savepoints.SavepointDisposalRequest;
import org.apache.flink.runtime.rest.messages.job.savepoints.SavepointDisposalTriggerHeaders;
import org.apache.flink.runtime.rest.messages.job.savepoints.SavepointStatusHeaders;
import org.apache.flink.runtime.rest.messages.job.savepoints.SavepointTriggerHeaders;
import org.apache.flink.runtime.rest.messages.job.savepoints.SavepointTriggerRequestBody;
import org.apache.flink.runtime.rest.messages.taskmanager.TaskManagersHeaders;
import org.apache.flink.runtime.rest.util.RestConstants;
import org.apache.flink.runtime.rest.util.RestMapperUtils;
import org.apache.flink.runtime.rest.handler.async.AsynchronousOperationResult;
import org.apache.flink.runtime.rest.messages.queue.QueueStatus;
import org.apache.flink.runtime.webmonitor.handlers.JarDeleteHeaders;
import org.apache.flink.runtime.webmonitor.handlers.JarRunHeaders;
import org.apache.flink.runtime.webmonitor.handlers.JarRunRequestBody;
import org.apache.flink.runtime.webmonitor.handlers.JarUploadHeaders;
import org.apache.flink.util.ExceptionUtils;

/**
 * The REST calls of the Flink Kubernetes Operator (apache/flink-kubernetes-operator release-1.15.0:
 * AbstractFlinkService, NativeFlinkService, SessionReconciler, and the autoscaler's RestApiMetricsCollector and
 * ScalingMetricCollector), made the way the operator makes them: Flink's RestClusterClient on
 * {@code http://<host>:<port>} with StandaloneClientHAServices, TLS from security.ssl.rest.* rewritten by the
 * operator's getOperatorRestConfig (OPERATOR_TRUSTSTORE_PATH, OPERATOR_KEYSTORE_PATH, OPERATOR_KEYSTORE_PASSWORD),
 * and the session-job jar upload on a bare RestClient (which never sees FLINK_REST_CLIENT_HEADERS).
 *
 * <p>Usage: {@code OperatorCalls <host> <port> <jar> <savepoint-dir> full|headers}. {@code full} submits two
 * session jobs and drives them through every call; {@code headers} (a deployment without
 * authentication-enabled, so no client certificate) makes one RestClusterClient call and the jar upload only. One line per call on stdout: {@code CALL <name> ok <detail>} or {@code CALL <name> failed <message>}.
 */
public final class OperatorCalls {
    private static final long TIMEOUT_S = 60;

    private final String host;
    private final int port;
    private final Configuration conf;
    private final ExecutorService executor = Executors.newFixedThreadPool(2);

    private OperatorCalls(String host, int port, boolean mutual) {
        this.host = host;
        this.port = port;
        // The FlinkDeployment's flinkConfiguration as the operator sees it: REST TLS on, mutual auth as given.
        Configuration deployment = new Configuration();
        deployment.set(SecurityOptions.SSL_REST_ENABLED, true);
        deployment.set(SecurityOptions.SSL_REST_AUTHENTICATION_ENABLED, mutual);
        this.conf = operatorRestConfig(deployment);
    }

    public static void main(String[] args) throws Exception {
        boolean headers = "headers".equals(args[4]);
        OperatorCalls calls = new OperatorCalls(args[0], Integer.parseInt(args[1]), !headers);
        try {
            if (headers) calls.headersOnly(Paths.get(args[2]));
            else calls.full(Paths.get(args[2]), args[3]);
        } finally {
            calls.executor.shutdownNow();
        }
        System.exit(0);
    }

    /**
     * AbstractFlinkService.getOperatorRestConfig (release-1.15.0), verbatim in effect: the truststore and keystore
     * come from the operator's environment, both with OPERATOR_KEYSTORE_PASSWORD; the keystore only when
     * security.ssl.rest.authentication-enabled is set.
     */
    private static Configuration operatorRestConfig(Configuration origConfig) {
        Configuration conf = new Configuration(origConfig);
        String truststore = System.getenv("OPERATOR_TRUSTSTORE_PATH");
        if (truststore == null || Files.notExists(Paths.get(truststore))) return conf;
        String password = System.getenv("OPERATOR_KEYSTORE_PASSWORD");
        conf.set(SecurityOptions.SSL_REST_TRUSTSTORE, truststore);
        conf.set(SecurityOptions.SSL_REST_TRUSTSTORE_PASSWORD, password);
        String keystore = System.getenv("OPERATOR_KEYSTORE_PATH");
        if (SecurityOptions.isRestSSLAuthenticationEnabled(conf) && keystore != null) {
            conf.set(SecurityOptions.SSL_REST_KEYSTORE, keystore);
            conf.set(SecurityOptions.SSL_REST_KEYSTORE_PASSWORD, password);
            conf.set(SecurityOptions.SSL_REST_KEY_PASSWORD, password);
        } else {
            conf.removeConfig(SecurityOptions.SSL_REST_KEYSTORE);
            conf.removeConfig(SecurityOptions.SSL_REST_KEYSTORE_PASSWORD);
        }
        conf.removeConfig(SecurityOptions.SSL_TRUSTSTORE);
        conf.removeConfig(SecurityOptions.SSL_TRUSTSTORE_PASSWORD);
        conf.removeConfig(SecurityOptions.SSL_KEYSTORE);
        conf.removeConfig(SecurityOptions.SSL_KEYSTORE_PASSWORD);
        return conf;
    }

    /** AbstractFlinkService.getClusterClient: a fresh client per call, on http://host:port. */
    private RestClusterClient<String> client() throws Exception {
        String address = String.format("http://%s:%s", host, port);
        return new RestClusterClient<>(conf, "flink-guard-it", (c, e) -> new StandaloneClientHAServices(address));
    }

    private interface Call<T> {
        T run(RestClusterClient<String> client) throws Exception;
    }

    /** Runs one call on a fresh client; prints its line; the result, or empty when it failed. */
    private <T> Optional<T> call(String name, Call<T> call, java.util.function.Function<T, String> detail) {
        try (RestClusterClient<String> client = client()) {
            T result = call.run(client);
            System.out.println("CALL " + name + " ok " + oneLine(detail.apply(result)));
            return Optional.ofNullable(result);
        } catch (Throwable t) {
            Throwable cause = ExceptionUtils.stripCompletionException(ExceptionUtils.stripExecutionException(t));
            System.out.println("CALL " + name + " failed " + cause.getClass().getSimpleName() + ": " + oneLine(String.valueOf(cause.getMessage())));
            return Optional.empty();
        }
    }

    private static String oneLine(String text) {
        return text.replace('\n', ' ').replace('\r', ' ');
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(TIMEOUT_S, TimeUnit.SECONDS);
    }

    private void headersOnly(Path jar) {
        call("config", c -> await(c.sendRequest(DashboardConfigurationHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> r.getFlinkVersion());
        uploadJar(jar);
    }

    private void full(Path jar, String savepointDir) throws Exception {
        // FlinkSessionJob submission (AbstractFlinkService.submitJobToSessionCluster): upload, run, delete.
        JobID jobA = submitSessionJob(jar, "fg-op-a");
        JobID jobB = submitSessionJob(jar, "fg-op-b");
        if (jobA == null || jobB == null) return;
        awaitRunning(jobA);
        awaitRunning(jobB);

        // Observation (JobStatusObserver, SessionReconciler, getClusterInfo, getJobExceptions).
        call("config", c -> await(c.sendRequest(DashboardConfigurationHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> r.getFlinkVersion());
        call("jobs-overview", c -> await(c.sendRequest(JobsOverviewHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> r.getJobs().size() + " jobs");
        call("taskmanagers", c -> await(c.sendRequest(TaskManagersHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> r.getTaskManagerInfos().size() + " taskmanagers");
        var details = call("job-details", c -> await(c.getJobDetails(jobA)), r -> r.getJobStatus().toString());
        call("exceptions", c -> {
            var headers = JobExceptionsHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jobPathParameter.resolve(jobA);
            return await(c.sendRequest(headers, params, EmptyRequestBody.getInstance()));
        }, r -> "exception history read");
        call("job-metrics", c -> {
            var params = JobMetricsHeaders.getInstance().getUnresolvedMessageParameters();
            params.jobPathParameter.resolve(jobA);
            params.metricsFilterParameter.resolve(List.of("numRestarts"));
            return await(c.sendRequest(JobMetricsHeaders.getInstance(), params, EmptyRequestBody.getInstance()));
        }, r -> r.getMetrics().size() + " metrics");

        // The autoscaler (RestApiMetricsCollector, ScalingMetricCollector).
        String vertex = details.map(d -> d.getJobVertexInfos().iterator().next().getJobVertexID().toString()).orElse(null);
        call("subtask-metrics", c -> {
            var params = new AggregatedSubtaskMetricsParameters();
            var path = params.getPathParameters().iterator();
            ((org.apache.flink.runtime.rest.messages.JobIDPathParameter) path.next()).resolve(jobA);
            ((org.apache.flink.runtime.rest.messages.JobVertexIdPathParameter) path.next()).resolve(org.apache.flink.runtime.jobgraph.JobVertexID.fromHexString(vertex));
            return await(c.sendRequest(AggregatedSubtaskMetricsHeaders.getInstance(), params, EmptyRequestBody.getInstance()));
        }, r -> r.getMetrics().size() + " metric names");
        call("jobmanager-metrics", c -> {
            var params = new JobManagerMetricsMessageParameters();
            ((MetricsFilterParameter) params.getQueryParameters().iterator().next()).resolve(List.of("taskSlotsTotal", "taskSlotsAvailable"));
            return await(c.sendRequest(JobManagerMetricsHeaders.getInstance(), params, EmptyRequestBody.getInstance()));
        }, r -> r.getMetrics().size() + " metrics");
        call("taskmanager-metrics", c -> {
            var params = new AggregateTaskManagerMetricsParameters();
            var query = params.getQueryParameters().iterator();
            ((MetricsFilterParameter) query.next()).resolve(List.of("Status.JVM.Memory.Heap.Max", "Status.JVM.Memory.Heap.Used"));
            ((MetricsAggregationParameter) query.next()).resolve(List.of(MetricsAggregationParameter.AggregationMode.MIN, MetricsAggregationParameter.AggregationMode.MAX, MetricsAggregationParameter.AggregationMode.AVG));
            return await(c.sendRequest(AggregatedTaskManagerMetricsHeaders.getInstance(), params, EmptyRequestBody.getInstance()));
        }, r -> r.getMetrics().size() + " metrics");
        // NativeFlinkService.getVertexResources / updateVertexResources: in-place rescale (adaptive scheduler).
        var requirements = call("resource-requirements-get", c -> {
            var params = new JobMessageParameters();
            params.jobPathParameter.resolve(jobA);
            return await(c.sendRequest(new JobResourceRequirementsHeaders(), params, EmptyRequestBody.getInstance()));
        }, r -> r.asJobResourceRequirements().map(j -> j.getJobVertexParallelisms().size() + " vertices").orElse("none"));
        // The autoscaler's decision: one more slot for every vertex (the adaptive scheduler rescales in place).
        call("resource-requirements-put", c -> {
            var params = new JobMessageParameters();
            params.jobPathParameter.resolve(jobA);
            var current = requirements.orElseThrow().asJobResourceRequirements().orElseThrow();
            var wanted = JobResourceRequirements.newBuilder();
            for (var vertexId : current.getJobVertices()) {
                wanted.setParallelismForJobVertex(vertexId, 1, current.getParallelism(vertexId).getUpperBound() + 1);
            }
            await(c.sendRequest(new JobResourcesRequirementsUpdateHeaders(), params, new JobResourceRequirementsBody(wanted.build())));
            // Read back what Flink now holds.
            var after = await(c.sendRequest(new JobResourceRequirementsHeaders(), params, EmptyRequestBody.getInstance()));
            return after.asJobResourceRequirements().orElseThrow();
        }, r -> "upperBound=" + r.getParallelism(r.getJobVertices().iterator().next()).getUpperBound());

        // Checkpoints (triggerCheckpoint, fetchCheckpointInfo, getCheckpointInfo, fetchCheckpointStats).
        var checkpointTrigger = call("checkpoint-trigger", c -> {
            var headers = CheckpointTriggerHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jobID.resolve(jobA);
            return await(c.sendRequest(headers, params, new CheckpointTriggerRequestBody(CheckpointType.FULL, null))).getTriggerId();
        }, TriggerId::toHexString);
        var checkpointId = checkpointTrigger.flatMap(trigger -> call("checkpoint-status", c -> {
            var headers = CheckpointStatusHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jobIdPathParameter.resolve(jobA);
            params.triggerIdPathParameter.resolve(trigger);
            return pollCompleted(() -> await(c.sendRequest(headers, params, EmptyRequestBody.getInstance()))).getCheckpointId();
        }, String::valueOf));
        call("checkpoint-stats", c -> {
            var headers = CheckpointingStatisticsHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jobPathParameter.resolve(jobA);
            return await(c.sendRequest(headers, params, EmptyRequestBody.getInstance()));
        }, r -> r.getCounts().getNumberCompletedCheckpoints() + " completed");
        checkpointId.ifPresent(id -> call("checkpoint-details", c -> {
            var headers = CheckpointStatisticDetailsHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            var path = params.getPathParameters().iterator();
            ((org.apache.flink.runtime.rest.messages.JobIDPathParameter) path.next()).resolve(jobA);
            ((CheckpointIdPathParameter) path.next()).resolve(id);
            return await(c.sendRequest(headers, params, EmptyRequestBody.getInstance()));
        }, r -> r.getStatus().toString()));

        // Savepoints (triggerSavepoint, fetchSavepointInfo, disposeSavepoint).
        var savepointTrigger = call("savepoint-trigger", c -> {
            var headers = SavepointTriggerHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jobID.resolve(jobA);
            return await(c.sendRequest(headers, params, new SavepointTriggerRequestBody(savepointDir, false, SavepointFormatType.CANONICAL, null))).getTriggerId();
        }, TriggerId::toHexString);
        var savepoint = savepointTrigger.flatMap(trigger -> call("savepoint-status", c -> {
            var headers = SavepointStatusHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jobIdPathParameter.resolve(jobA);
            params.triggerIdPathParameter.resolve(trigger);
            return pollCompleted(() -> await(c.sendRequest(headers, params, EmptyRequestBody.getInstance()))).getLocation();
        }, location -> location));
        savepoint.ifPresent(location -> call("savepoint-disposal", c -> await(c.sendRequest(SavepointDisposalTriggerHeaders.getInstance(), EmptyMessageParameters.getInstance(), new SavepointDisposalRequest(location))).getTriggerId(), TriggerId::toHexString));

        // What the operator never does: shut the cluster down, read the JobManager's logs or its configuration.
        call("cluster-shutdown", c -> await(c.sendRequest(ShutdownHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> "cluster shut down");
        call("jobmanager-logs", c -> await(c.sendRequest(JobManagerLogListHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> r.getLogInfos().size() + " log files");
        call("jobmanager-config", c -> await(c.sendRequest(ClusterConfigurationInfoHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance())), r -> r.size() + " entries");

        // Upgrade and deletion (savepointJobOrError, cancelJobOrError, requestJobResult).
        call("stop-with-savepoint", c -> await(c.stopWithSavepoint(jobA, false, savepointDir, SavepointFormatType.CANONICAL)), location -> location);
        call("cancel", c -> await(c.cancel(jobB)), r -> "cancelling");
        call("job-result", c -> await(c.requestJobResult(jobA)), r -> r.isSuccess() ? "SUCCEEDED" : "FAILED");
    }

    private interface Poll<T> {
        AsynchronousOperationResult<T> get() throws Exception;
    }

    /** fetchSavepointInfo / fetchCheckpointInfo are polled by the operator's observer; here in a bounded loop. */
    private static <T> T pollCompleted(Poll<T> poll) throws Exception {
        for (int i = 0; i < 120; i++) {
            var result = poll.get();
            if (result.queueStatus().getId() == QueueStatus.Id.COMPLETED) return result.resource();
            Thread.sleep(500);
        }
        throw new IllegalStateException("operation did not complete within 60 s");
    }

    private void awaitRunning(JobID job) throws Exception {
        for (int i = 0; i < 240; i++) {
            try (RestClusterClient<String> client = client()) {
                var info = await(client.getJobDetails(job));
                boolean tasksRunning = info.getJobVertexInfos().stream().allMatch(v -> v.getExecutionState().toString().equals("RUNNING"));
                if (info.getJobStatus().toString().equals("RUNNING") && tasksRunning) return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("job " + job + " did not reach RUNNING");
    }

    /** uploadJar (bare RestClient, as the operator), runJar and deleteJar; the job id the operator chose. */
    private JobID submitSessionJob(Path jar, String name) {
        Optional<String> jarId = uploadJar(jar);
        if (jarId.isEmpty()) return null;
        JobID jobId = JobID.generate();
        Optional<Object> ran = call("jar-run", c -> {
            var headers = JarRunHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jarIdPathParameter.resolve(jarId.get());
            // The body as JSON: JarRunRequestBody's constructor differs between Flink 1.x and 2.x, its wire form
            // (what runJar sends for Flink 1.20+) does not.
            String json = String.format("{\"programArgsList\":[\"--name\",\"%s\"],\"jobId\":\"%s\",\"claimMode\":\"NO_CLAIM\",\"flinkConfiguration\":{\"pipeline.name\":\"%s\"}}", name, jobId, name);
            var body = RestMapperUtils.getStrictObjectMapper().readValue(json, JarRunRequestBody.class);
            return (Object) await(c.sendRequest(headers, params, body)).getJobId();
        }, String::valueOf);
        call("jar-delete", c -> {
            var headers = JarDeleteHeaders.getInstance();
            var params = headers.getUnresolvedMessageParameters();
            params.jarIdPathParameter.resolve(jarId.get());
            return await(c.sendRequest(headers, params, EmptyRequestBody.getInstance()));
        }, r -> jarId.get());
        return ran.isPresent() ? jobId : null;
    }

    private Optional<String> uploadJar(Path jar) {
        try (RestClient restClient = new RestClient(conf, executor)) {
            var response = await(restClient.sendRequest(host, port, JarUploadHeaders.getInstance(), EmptyMessageParameters.getInstance(), EmptyRequestBody.getInstance(), Collections.singletonList(new FileUpload(jar, RestConstants.CONTENT_TYPE_JAR))));
            // runJar: the jar id is what follows the last '/' of the answer's filename.
            String filename = response.getFilename();
            String jarId = filename.substring(filename.lastIndexOf('/') + 1);
            System.out.println("CALL jar-upload ok " + jarId);
            return Optional.of(jarId);
        } catch (Throwable t) {
            Throwable cause = ExceptionUtils.stripCompletionException(ExceptionUtils.stripExecutionException(t));
            System.out.println("CALL jar-upload failed " + cause.getClass().getSimpleName() + ": " + oneLine(String.valueOf(cause.getMessage())));
            return Optional.empty();
        }
    }
}
