#!/bin/bash
# Runs one Kafka class on the image's JRE with every jar under /opt/kafka/libs, as the script of this name in the
# Kafka distribution does. KAFKA_TOOL=0 marks the broker (kafka-server-start.sh); anything else is a tool.
# Honours the distribution's variables: KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS.
set -euo pipefail
base="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${KAFKA_TOOL:-1}" = "0" ]; then
  heap="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
  log4j="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/log4j2.properties}"
else
  heap="${KAFKA_HEAP_OPTS:--Xmx256M}"
  log4j="-Dlog4j2.configurationFile=$base/config/tools-log4j2.properties"
fi
performance="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true}"
# shellcheck disable=SC2086 # the option strings are lists of words, as in the distribution's script
exec java $heap $performance $log4j ${KAFKA_OPTS:-} -cp "$base/libs/*" "$@"
