#!/bin/bash
# /opt/entrypoint.sh of the TEST-ONLY Spark stand-in base (devtools/images/README.md).
# Written for this project from the contract Spark on Kubernetes relies on (what the official
# apache/spark image's entrypoint does), not copied from it:
#   driver ARGS...   spark-submit in client mode, bound to $SPARK_DRIVER_BIND_ADDRESS
#   executor         the KubernetesExecutorBackend JVM, configured by SPARK_EXECUTOR_*,
#                    SPARK_DRIVER_URL, SPARK_APPLICATION_ID, SPARK_JAVA_OPT_<n>, ...
#   anything else    run as given
# Spark processes run under tini; as root they drop to `spark` (gosu); a uid without a passwd
# entry (OpenShift-style arbitrary uid) gets one through libnss_wrapper.
set -eo pipefail

fake_passwd_entry_if_needed() {
  local uid gid lib
  uid="$(id -u)"
  gid="$(id -g)"
  getent passwd "$uid" >/dev/null 2>&1 && return 0
  for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so /lib/*/libnss_wrapper.so; do
    [ -s "$lib" ] || continue
    NSS_WRAPPER_PASSWD="$(mktemp)"
    NSS_WRAPPER_GROUP="$(mktemp)"
    printf 'spark:x:%s:%s:%s:%s:/bin/false\n' "$uid" "$gid" "${SPARK_USER_NAME:-anonymous uid}" "$SPARK_HOME" \
      >"$NSS_WRAPPER_PASSWD"
    printf 'spark:x:%s:\n' "$gid" >"$NSS_WRAPPER_GROUP"
    export LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
    return 0
  done
}

if [ -z "$JAVA_HOME" ]; then
  JAVA_HOME="$(java -XshowSettings:properties -version 2>&1 >/dev/null | awk '/java.home/ {print $3}')"
fi

# Classpath of the executor JVM: conf dir first, then Spark's jars, extras, the work dir.
classpath="${SPARK_CLASSPATH:+$SPARK_CLASSPATH:}${SPARK_HOME}/jars/*"
[ -n "$SPARK_EXTRA_CLASSPATH" ] && classpath="$classpath:$SPARK_EXTRA_CLASSPATH"
if [ -n "${HADOOP_HOME}" ] && [ -z "${SPARK_DIST_CLASSPATH}" ]; then
  SPARK_DIST_CLASSPATH="$("$HADOOP_HOME/bin/hadoop" classpath)"
  export SPARK_DIST_CLASSPATH
fi
[ -n "${HADOOP_CONF_DIR+set}" ] && classpath="$HADOOP_CONF_DIR:$classpath"
if [ -n "${SPARK_CONF_DIR+set}" ]; then
  classpath="$SPARK_CONF_DIR:$classpath"
elif [ -n "${SPARK_HOME+set}" ]; then
  classpath="$SPARK_HOME/conf:$classpath"
fi
classpath="$classpath:$PWD"

# The JVM options Spark passes to executors as SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, ... (in order).
java_opts=()
while IFS= read -r name; do
  java_opts+=("${!name}")
done < <(compgen -v SPARK_JAVA_OPT_ | sort -t_ -k4 -n)

# Set (even if empty) means: pass on to the Python workers.
[ -n "${PYSPARK_PYTHON+set}" ] && export PYSPARK_PYTHON
[ -n "${PYSPARK_DRIVER_PYTHON+set}" ] && export PYSPARK_DRIVER_PYTHON

as_spark=()
[ "$(id -u)" -eq 0 ] && as_spark=(gosu spark)

case "$1" in
  driver)
    shift
    cmd=(
      "$SPARK_HOME/bin/spark-submit"
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS"
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS"
      --deploy-mode client
      "$@"
    )
    ;;
  executor)
    shift
    cmd=(
      "$JAVA_HOME/bin/java"
      "${java_opts[@]}"
      "-Xms$SPARK_EXECUTOR_MEMORY"
      "-Xmx$SPARK_EXECUTOR_MEMORY"
      -cp "$classpath:$SPARK_DIST_CLASSPATH"
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
      --driver-url "$SPARK_DRIVER_URL"
      --executor-id "$SPARK_EXECUTOR_ID"
      --cores "$SPARK_EXECUTOR_CORES"
      --app-id "$SPARK_APPLICATION_ID"
      --hostname "$SPARK_EXECUTOR_POD_IP"
      --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID"
      --podName "$SPARK_EXECUTOR_POD_NAME"
    )
    ;;
  *)
    exec "$@"
    ;;
esac

fake_passwd_entry_if_needed
exec "${as_spark[@]}" /usr/bin/tini -s -- "${cmd[@]}"
