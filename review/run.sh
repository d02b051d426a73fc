#!/bin/bash
# usage: run.sh content-type bodyfile
echo "netty 4.1.91:"; java -cp /tmp/rv/c1:/root/.m2/repository/org/apache/flink/flink-shaded-netty/4.1.91.Final-17.0/flink-shaded-netty-4.1.91.Final-17.0.jar M "$1" "$2" 2>&1 | grep -v WARN
echo "netty 4.2.6:";  java -cp /tmp/rv/c2:/root/.m2/repository/org/apache/flink/flink-shaded-netty/4.2.6.Final-21.0/flink-shaded-netty-4.2.6.Final-21.0.jar M "$1" "$2" 2>&1 | grep -v WARN
