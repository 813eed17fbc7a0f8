#!/usr/bin/env bash
# Brings up the real test environment on a Debian bookworm machine, as root, offline but for the
# Debian and npm registries: dockerd 26 with the containerd image store, buildx 0.13, QEMU + binfmt_misc
# (F flag), cosign, a plain registry on 127.0.0.1:5000, an htpasswd registry on 127.0.0.1:5001, a registry with
# token authentication on 127.0.0.1:5002 whose token service (token-server.mjs) listens on 127.0.0.1:5003,
# and multi-arch busybox base images built from Debian's busybox-static (public/busybox:1 on the token
# registry too, pullable anonymously). Idempotent: what is already up is skipped.
# Writes the facts tests need to $MULTIARCH_ENV_DIR/env (read by test/e2e/helpers.ts); test/env/down.sh
# stops what it started.
set -euo pipefail

ENV_DIR=${MULTIARCH_ENV_DIR:-/run/multiarch-env}
DATA_DIR=${MULTIARCH_DATA_DIR:-/var/lib/multiarch-env}
PLAIN_REGISTRY=127.0.0.1:5000
AUTH_REGISTRY=127.0.0.1:5001
TOKEN_REGISTRY=127.0.0.1:5002
TOKEN_SERVER=127.0.0.1:5003
BASE_IMAGE=$PLAIN_REGISTRY/base/busybox:1
mkdir -p "$ENV_DIR" "$DATA_DIR"

log() { printf '[env] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root (installs packages, starts dockerd)"; exit 1
fi

# --- packages -------------------------------------------------------------------------------
apt_updated=0
# a mirror mid-sync makes one index fail now and then: try again before giving up
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  apt-get update -qq || { sleep 5; apt-get update -qq; } || log "apt-get update failed twice; trying with the package lists there are"
  apt_updated=1
}

if [ ! -f /etc/apt/sources.list.d/multiarch-trixie.sources ]; then
  # trixie only for the packages that need it (docker, buildx, QEMU, cosign); everything else stays bookworm.
  cat >/etc/apt/sources.list.d/multiarch-trixie.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >/etc/apt/preferences.d/multiarch-trixie <<'EOF'
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
fi

if ! have dockerd || ! docker buildx version >/dev/null 2>&1 || [ ! -x /usr/bin/qemu-aarch64-static ] \
   || ! have docker-registry || ! have htpasswd || ! have curl || ! have jq || ! have openssl; then
  log "installing docker.io, docker-buildx, qemu-user-static (trixie), runc, docker-registry (bookworm)"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io/trixie docker-buildx/trixie qemu-user-static/trixie runc/bookworm \
    docker-registry apache2-utils curl jq ca-certificates iptables openssl >/dev/null
fi
# release signing (issue 22): Debian's cosign, from trixie (bookworm has none); it signs and verifies
# offline against the loopback registries with a key pair
if ! have cosign; then
  log "installing cosign (trixie)"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cosign/trixie >/dev/null
fi
# gitlab-ci-local (test/package.json) copies each job's checkout with rsync (the CI pipeline test)
if ! have rsync; then
  log "installing rsync (bookworm)"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsync >/dev/null
fi
# the HTML report's browser test (issue 15) only, not the quick start: Debian's headless Chromium
if [ "${MULTIARCH_BROWSER:-0}" = 1 ] && ! have chromium; then
  log "installing chromium (bookworm)"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

# --- binfmt_misc + QEMU handlers with the F flag ---------------------------------------------
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for conf in /usr/lib/binfmt.d/qemu-*.conf; do
  name=$(cut -d: -f2 <"$conf")
  [ -e "/proc/sys/fs/binfmt_misc/$name" ] && continue
  # the F flag makes the kernel open the interpreter now, so it works inside containers' mount namespaces
  sed -n '1p' "$conf" >/proc/sys/fs/binfmt_misc/register || log "could not register $name"
done

# --- dockerd with the containerd image store ------------------------------------------------
stop_pid() { # pidfile: a daemon started with another configuration stops (and is waited for) before its restart
  local pid
  pid=$(cat "$1" 2>/dev/null) && kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  log "pid $pid ($1) did not stop in 30 s"
}
mkdir -p /etc/docker
# Build history bounded: dockerd 26 otherwise keeps a record of every build (10,716 after a day of suites and
# benches here, 108,000 blobs), and containerd's garbage collection walks them all on every container or
# image removal: `docker run --rm` took 1.7-3.6 s against 0.45 s on an engine with 500 records.
want='{"features":{"containerd-snapshotter":true},"builder":{"history":{"maxEntries":20}}}'
if [ "$(cat /etc/docker/daemon.json 2>/dev/null)" != "$want" ]; then
  echo "$want" >/etc/docker/daemon.json
  stop_pid "$ENV_DIR/dockerd.pid"
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  setsid nohup dockerd --pidfile "$ENV_DIR/dockerd.pid" >"$DATA_DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start:"; tail -n 30 "$DATA_DIR/dockerd.log" >&2; exit 1; }
fi

# --- registries -----------------------------------------------------------------------------
start_registry() { # name addr [auth: the config's auth section as flow YAML]
  local name=$1 addr=$2 auth=${3:-}
  curl -s -o /dev/null "http://$addr/v2/" && return 0
  mkdir -p "$DATA_DIR/$name"
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage: {filesystem: {rootdirectory: $DATA_DIR/$name/data}, delete: {enabled: true}}"
    echo "http: {addr: $addr}"
    [ -n "$auth" ] && echo "auth: $auth"
  } >"$DATA_DIR/$name/config.yml"
  log "starting registry $name on $addr"
  setsid nohup docker-registry serve "$DATA_DIR/$name/config.yml" >"$DATA_DIR/$name/log" 2>&1 </dev/null &
  echo $! >"$ENV_DIR/registry-$name.pid"
  for _ in $(seq 1 40); do curl -s -o /dev/null "http://$addr/v2/" && return 0; sleep 0.25; done
  log "registry $name did not start"; tail -n 20 "$DATA_DIR/$name/log" >&2; exit 1
}
if [ ! -f "$DATA_DIR/auth/htpasswd" ]; then
  mkdir -p "$DATA_DIR/auth"
  head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DATA_DIR/auth/password"
  htpasswd -Bbn e2e "$(cat "$DATA_DIR/auth/password")" >"$DATA_DIR/auth/htpasswd"
fi
start_registry plain "$PLAIN_REGISTRY"
start_registry auth "$AUTH_REGISTRY" "{htpasswd: {realm: multiarch-e2e, path: $DATA_DIR/auth/htpasswd}}"

# --- token authentication: an ES256 key, its certificate in the registry's bundle, the token service --
TOKEN_DIR=$DATA_DIR/token
if [ ! -f "$TOKEN_DIR/cert.pem" ]; then
  mkdir -p "$TOKEN_DIR"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj /CN=multiarch-e2e-token \
    -keyout "$TOKEN_DIR/key.pem" -out "$TOKEN_DIR/cert.pem" 2>/dev/null
fi
# a copy beside its key, so it keeps running whatever happens to this checkout
cp "$(dirname "$0")/token-server.mjs" "$TOKEN_DIR/token-server.mjs"
if ! curl -sf -o /dev/null "http://$TOKEN_SERVER/healthz"; then
  have node || { log "the token service needs Node.js (>= 20.19, as the project does): install it first"; exit 1; }
  log "starting the token service on $TOKEN_SERVER"
  setsid nohup node "$TOKEN_DIR/token-server.mjs" "$TOKEN_SERVER" "$TOKEN_DIR/key.pem" "$TOKEN_DIR/cert.pem" \
    "$DATA_DIR/auth/password" "$TOKEN_DIR/requests.log" multiarch-e2e-token >"$TOKEN_DIR/log" 2>&1 </dev/null &
  echo $! >"$ENV_DIR/token-server.pid"
  for _ in $(seq 1 40); do curl -sf -o /dev/null "http://$TOKEN_SERVER/healthz" && break; sleep 0.25; done
  curl -sf -o /dev/null "http://$TOKEN_SERVER/healthz" || { log "the token service did not start"; tail -n 20 "$TOKEN_DIR/log" >&2; exit 1; }
fi
start_registry token "$TOKEN_REGISTRY" \
  "{token: {realm: 'http://$TOKEN_SERVER/token', service: multiarch-e2e-registry, issuer: multiarch-e2e-token, rootcertbundle: $TOKEN_DIR/cert.pem}}"

# --- multi-arch base image from Debian's busybox-static -------------------------------------
if ! docker buildx imagetools inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "building $BASE_IMAGE for linux/amd64, linux/arm64, linux/arm/v7"
  work=$(mktemp -d)
  # A private apt state for the foreign architectures, so the machine's own apt setup is left as it was.
  apt_dir=$DATA_DIR/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb [arch=amd64,arm64,armhf signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" >"$apt_dir/sources.list"
  apt_opts=(-o "APT::Architectures=amd64,arm64,armhf" -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache" -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null")
  apt-get "${apt_opts[@]}" update -qq || { sleep 5; apt-get "${apt_opts[@]}" update -qq; } || log "apt-get update (foreign architectures) failed twice; trying anyway"
  (cd "$work" && apt-get "${apt_opts[@]}" download -qq busybox-static:amd64 busybox-static:arm64 busybox-static:armhf)
  for deb in "$work"/busybox-static_*.deb; do
    arch=$(dpkg-deb -f "$deb" Architecture)
    dpkg-deb -x "$deb" "$work/x-$arch"
    case $arch in armhf) dest=armv7 ;; *) dest=$arch ;; esac
    cp "$work/x-$arch/bin/busybox" "$work/busybox-$dest"
  done
  cat >"$work/Dockerfile" <<'EOF'
FROM scratch
ARG TARGETARCH
ARG TARGETVARIANT
COPY busybox-${TARGETARCH}${TARGETVARIANT} /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
EOF
  docker buildx build --provenance=false --platform linux/amd64,linux/arm64,linux/arm/v7 \
    -t "$BASE_IMAGE" --push "$work" >"$DATA_DIR/base-build.log" 2>&1 \
    || { tail -n 30 "$DATA_DIR/base-build.log" >&2; exit 1; }
  rm -rf "$work"
fi

# --- the same base on the token registry, under public/ (anonymous pulls) --------------------------
PUBLIC_BASE=$TOKEN_REGISTRY/public/busybox:1
if ! docker buildx imagetools inspect "$PUBLIC_BASE" >/dev/null 2>&1; then
  log "copying $BASE_IMAGE to $PUBLIC_BASE"
  cfg=$(mktemp -d)
  printf '{"auths":{"%s":{"auth":"%s"}}}' "$TOKEN_REGISTRY" "$(printf 'e2e:%s' "$(cat "$DATA_DIR/auth/password")" | base64 -w0)" >"$cfg/config.json"
  DOCKER_CONFIG=$cfg docker buildx imagetools create --tag "$PUBLIC_BASE" "$BASE_IMAGE" >"$DATA_DIR/public-base.log" 2>&1 \
    || { rm -rf "$cfg"; tail -n 20 "$DATA_DIR/public-base.log" >&2; exit 1; }
  rm -rf "$cfg"
fi

# --- a second, independent engine (shard tests: "another machine") ------------------------------
# Its own data root, exec root (so its own containerd), pid file, socket and bridge. Never --bridge=none:
# seen deleting the first engine's docker0. The bridge's /24 is private to this host.
SECOND_SOCK=$ENV_DIR/docker2.sock
second_up() { DOCKER_HOST="unix://$SECOND_SOCK" docker info >/dev/null 2>&1; }
[ "$(cat "$DATA_DIR/docker2/daemon.json" 2>/dev/null)" != "$want" ] && stop_pid "$ENV_DIR/dockerd2.pid"
if ! second_up; then
  log "starting a second dockerd on $SECOND_SOCK"
  if ! ip link show multiarch0 >/dev/null 2>&1; then
    ip link add multiarch0 type bridge && ip addr add 10.213.77.1/24 dev multiarch0 && ip link set multiarch0 up \
      || log "could not create the bridge multiarch0"
  fi
  mkdir -p "$DATA_DIR/docker2" /run/multiarch-docker2
  echo "$want" >"$DATA_DIR/docker2/daemon.json"
  setsid nohup dockerd --config-file "$DATA_DIR/docker2/daemon.json" --data-root "$DATA_DIR/docker2/data" \
    --exec-root /run/multiarch-docker2 --pidfile "$ENV_DIR/dockerd2.pid" -H "unix://$SECOND_SOCK" \
    --bridge=multiarch0 --iptables=false --ip6tables=false >"$DATA_DIR/docker2.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do second_up && break; sleep 0.5; done
  second_up || { log "the second dockerd did not start:"; tail -n 30 "$DATA_DIR/docker2.log" >&2; exit 1; }
fi
docker info >/dev/null 2>&1 || { log "the first dockerd stopped answering after the second started"; exit 1; }

cat >"$ENV_DIR/env" <<EOF
MULTIARCH_E2E_REGISTRY=$PLAIN_REGISTRY
MULTIARCH_E2E_AUTH_REGISTRY=$AUTH_REGISTRY
MULTIARCH_E2E_AUTH_USER=e2e
MULTIARCH_E2E_AUTH_PASSWORD_FILE=$DATA_DIR/auth/password
MULTIARCH_E2E_BASE_IMAGE=$BASE_IMAGE
MULTIARCH_E2E_TOKEN_REGISTRY=$TOKEN_REGISTRY
MULTIARCH_E2E_TOKEN_LOG=$TOKEN_DIR/requests.log
MULTIARCH_E2E_PUBLIC_BASE_IMAGE=$PUBLIC_BASE
MULTIARCH_E2E_DOCKER2=unix://$SECOND_SOCK
EOF
log "ready: dockerd $(docker version --format '{{.Server.Version}}') (and a second one on $SECOND_SOCK), buildx $(docker buildx version | awk '{print $2}'), registries $PLAIN_REGISTRY, $AUTH_REGISTRY (basic auth) and $TOKEN_REGISTRY (token auth), base $BASE_IMAGE"
