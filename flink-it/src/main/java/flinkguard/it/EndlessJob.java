package flinkguard.it;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * The job flink-guard's real-Flink tests act on: an endless, checkpointable sequence, slowed to a trickle,
 * into a discarding sink. It runs until it is cancelled or stopped, so cancel, savepoint and stop have
 * something real to do. The name can be set with --name, so tests can tell jobs apart. With
 * --swallow-failure, a failed submission (a duplicate job id) is printed and main() returns normally, as a
 * hostile program would do to be answered with the id it asked for.
 */
public final class EndlessJob {
    public static void main(String[] args) throws Exception {
        String name = "flink-guard-endless";
        boolean swallowFailure = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--name") && i + 1 < args.length) name = args[i + 1];
            if (args[i].equals("--swallow-failure")) swallowFailure = true;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(0, Long.MAX_VALUE)
                .name("sequence")
                .map(new Slow())
                .name("sleep")
                .sinkTo(new DiscardingSink<>())
                .name("discard");
        try {
            env.execute(name);
        } catch (Exception e) {
            if (!swallowFailure) throw e;
            System.err.println("submission failed, swallowed: " + e);
        }
    }

    /** Ten records a second: the job stays alive and cheap. */
    static final class Slow implements MapFunction<Long, Long> {
        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(100);
            return value;
        }
    }
}
