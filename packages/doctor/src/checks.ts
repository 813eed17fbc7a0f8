// doctor's judgement: gathered facts in, a checklist out (ok / warning / failed, what was found, the
// fix, and the safe local actions --fix may run). Pure, so every case is table-tested without an engine.
import { basePlatformProblems, builderOf, resolveStrategy } from "@multiarch/compiler";
import { nativeArchs, parsePlatform, platformParts, qemuHandler } from "@multiarch/plan";
import { type FromLine, fromLines, type Spec } from "@multiarch/spec";
import type { DoctorFacts, FixAction } from "./facts.ts";

export interface Check {
  id: string;
  title: string;
  status: "ok" | "warning" | "failed";
  found: string;
  /** What to do, for people (a command to run, a package to install). */
  fix?: string;
  /** What doctor --fix runs: only safe, local repairs; never a package install. */
  actions?: FixAction[];
}

/** "26.1.5+dfsg1" >= "19.03" */
export function versionAtLeast(version: string, min: string): boolean {
  const num = (v: string) => (/(\d+)\.(\d+)(?:\.(\d+))?/.exec(v) ?? []).slice(1).map((x) => Number(x ?? 0));
  const [a, b] = [num(version), num(min)];
  if (a.length === 0) return false;
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

const INSTALL_QEMU = "apt-get install qemu-user-static binfmt-support (or: docker run --privileged --rm tonistiigi/binfmt --install all)";

export function doctorChecks(spec: Spec, f: DoctorFacts): Check[] {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const platforms = [...new Set(spec.images.flatMap((i) => i.platforms))];

  // docker CLI and engine
  if (f.docker.missing) {
    add({
      id: "docker-cli",
      title: "docker CLI",
      status: "failed",
      found: "docker is not on PATH",
      fix: "install Docker: apt-get install docker.io (or docs.docker.com/engine/install)",
    });
  } else {
    const ok = f.docker.client !== undefined && versionAtLeast(f.docker.client, "19.03");
    add({
      id: "docker-cli",
      title: "docker CLI >= 19.03",
      status: ok ? "ok" : "failed",
      found: f.docker.client ? `docker ${f.docker.client}` : "no version reported",
      ...(ok ? {} : { fix: "upgrade docker to 19.03 or later (buildx needs it)" }),
    });
    add({
      id: "docker-engine",
      title: "docker engine reachable",
      status: f.docker.server ? "ok" : "failed",
      found: f.docker.server ? `engine ${f.docker.server} at ${f.target}` : `${f.target}: ${f.docker.error ?? "no answer"}`,
      ...(f.docker.server ? {} : { fix: "start dockerd (systemctl start docker), or point DOCKER_HOST / --context at a running engine" }),
    });
  }
  // buildx (and experimental mode on CLIs older than 20.10, which hid it behind that)
  const old = f.docker.client !== undefined && !versionAtLeast(f.docker.client, "20.10");
  add({
    id: "buildx",
    title: "docker buildx",
    status: f.buildx ? (old && !f.experimental ? "failed" : "ok") : "failed",
    found: f.buildx ?? "not available",
    ...(!f.buildx
      ? { fix: "apt-get install docker-buildx (or docker-buildx-plugin from Docker's repository)" }
      : old && !f.experimental
        ? { fix: `export DOCKER_CLI_EXPERIMENTAL=enabled, or "experimental": "enabled" in ${f.dockerConfig}` }
        : {}),
  });

  // kernel, binfmt_misc, QEMU: only for platforms this machine cannot run natively
  const native = nativeArchs(f.hostArch);
  const foreign = platforms.filter((p) => !native.includes(platformParts(p).arch));
  const kernelOk = versionAtLeast(f.kernel, "4.8");
  add({
    id: "kernel",
    title: "kernel >= 4.8 (binfmt_misc F flag)",
    status: kernelOk ? "ok" : foreign.length ? "failed" : "warning",
    found: `kernel ${f.kernel}`,
    ...(kernelOk ? {} : { fix: "build foreign platforms on a newer kernel, or on native machines (multiarch apply --shard)" }),
  });
  if (foreign.length) {
    add({
      id: "binfmt-mounted",
      title: "binfmt_misc mounted",
      status: f.binfmt.mounted ? "ok" : "failed",
      found: f.binfmt.mounted ? f.binfmt.dir : `${f.binfmt.dir} is not mounted`,
      ...(f.binfmt.mounted
        ? {}
        : {
            fix: `mount -t binfmt_misc binfmt_misc ${f.binfmt.dir}`,
            actions: [{ kind: "command", program: "mount", args: ["-t", "binfmt_misc", "binfmt_misc", f.binfmt.dir] }],
          }),
    });
  }
  for (const p of foreign) {
    const handler = qemuHandler(platformParts(p).arch);
    if (!handler) continue;
    const h = f.binfmt.handlers[handler];
    const conf = f.binfmt.available[handler];
    // the F flag makes the kernel open the interpreter at registration, so it works inside containers
    const withF = conf ? conf.replace(/:([A-Z]*)$/, (_m, flags: string) => `:${flags.includes("F") ? flags : `${flags}F`}`) : undefined;
    const register: FixAction[] = withF ? [{ kind: "binfmt", file: `${f.binfmt.dir}/register`, line: withF }] : [];
    const version = f.qemu[handler] ? ` (${f.qemu[handler]})` : "";
    const base = { id: `qemu-${p}`, title: `QEMU for ${p}` };
    if (!h) {
      add({
        ...base,
        status: "failed",
        found: `no ${handler} handler registered`,
        fix: withF ? `echo '${withF}' > ${f.binfmt.dir}/register` : INSTALL_QEMU,
        ...(register.length ? { actions: register } : {}),
      });
    } else if (!h.enabled) {
      add({
        ...base,
        status: "failed",
        found: `${handler} is registered but disabled`,
        fix: `echo 1 > ${f.binfmt.dir}/${handler}`,
        actions: [{ kind: "binfmt", file: `${f.binfmt.dir}/${handler}`, line: "1" }],
      });
    } else if (!h.flags.includes("F")) {
      add({
        ...base,
        status: "failed",
        found: `${handler} has flags "${h.flags}", without F: builds in containers fail with "exec format error"`,
        fix: withF ? `echo -1 > ${f.binfmt.dir}/${handler}; echo '${withF}' > ${f.binfmt.dir}/register` : `${INSTALL_QEMU}, then register it with the F flag`,
        ...(register.length ? { actions: [{ kind: "binfmt", file: `${f.binfmt.dir}/${handler}`, line: "-1" } as FixAction, ...register] } : {}),
      });
    } else if (!h.interpreterExists) {
      add({ ...base, status: "failed", found: `${handler} points at ${h.interpreter}, which is missing`, fix: INSTALL_QEMU });
    } else {
      add({ ...base, status: "ok", found: `${handler} enabled, flags ${h.flags}, ${h.interpreter}${version}` });
    }
  }
  if (foreign.length && f.updateBinfmts !== undefined) {
    const ok = versionAtLeast(f.updateBinfmts, "2.1.7");
    add({
      id: "update-binfmts",
      title: "update-binfmts >= 2.1.7 (F flag support)",
      status: ok ? "ok" : "warning",
      found: f.updateBinfmts,
      ...(ok ? {} : { fix: "upgrade binfmt-support to 2.1.7 or later, or register handlers with the F flag by hand (doctor --fix)" }),
    });
  }

  // sign: in the spec: apply signs each index with cosign before its tags move
  if (spec.sign && f.cosign)
    add({
      id: "cosign",
      title: "cosign (sign: in the spec)",
      status: f.cosign.version ? "ok" : "failed",
      found: f.cosign.version ?? `cannot be run: ${f.cosign.error ?? "unknown"}`,
      ...(f.cosign.version ? {} : { fix: "apt-get install cosign (Debian trixie and later), or put cosign on PATH" }),
    });

  // the builder: exists, its driver and platforms, and so what auto chooses
  const defined = builderOf(spec);
  if (f.engine.builderMissing) {
    add({
      id: "builder",
      title: `builder ${spec.build.builder ?? "(current)"}`,
      status: "failed",
      found: "does not exist",
      fix: defined ? defined.create.map((c) => `docker ${c.args.join(" ")}`).join("; ") : `docker buildx create --name ${spec.build.builder ?? "NAME"} --use`,
      ...(defined ? { actions: defined.create.map((c): FixAction => ({ kind: "command", program: "docker", args: c.args.map(String) })) } : {}),
    });
  } else if (f.engine.reachable && f.engine.buildx) {
    const strategy = resolveStrategy(spec.build.strategy, spec.build.strategy !== "auto", f.engine);
    const reported = f.engine.platforms ?? [];
    // the docker driver builds what the engine's QEMU handlers run (checked above), whatever it lists
    const missing = f.engine.driver === "docker" ? [] : platforms.filter((p) => !reported.includes(p));
    add({
      id: "builder",
      title: `builder ${spec.build.builder ?? "(current)"}`,
      status: missing.length ? "warning" : "ok",
      found: `driver ${f.engine.driver ?? "?"}; ${f.engine.reason}; strategy ${strategy.chosen}${spec.build.strategy === "auto" ? " (auto)" : ""}${
        missing.length ? `; its nodes do not list ${missing.join(", ")}` : ""
      }`,
      ...(missing.length ? { fix: "add a node for those platforms, or a QEMU handler on the nodes" } : {}),
    });
  }

  // registries: reachable over the configured scheme, credentials present and accepted
  for (const r of spec.registries) {
    const got = f.registries[r.name];
    if (!got) continue;
    const where = `${got.scheme}://${got.host}`;
    const base = { id: `registry-${r.name}`, title: `registry ${r.name}` };
    if (got.credentials === "unset") {
      const vars = [r.username, r.password].map((c) => (c?.env ? `$${c.env}` : c?.file)).join(" and ");
      add({ ...base, status: "failed", found: `credentials not set (${vars})`, fix: `set ${vars} where multiarch runs` });
    } else if (got.error || got.status === undefined) {
      const tls = /certificate|ssl|tls|EPROTO/i.test(got.error ?? "");
      add({
        ...base,
        status: "failed",
        found: `${where}: ${got.error ?? "no answer"}`,
        fix: tls && !r.insecure ? `plain HTTP? set insecure: true for ${r.name}` : `check the URL (${r.url}) and that the registry is up`,
      });
    } else if (got.status === 401) {
      add({
        ...base,
        status: got.credentials === "present" ? "failed" : "warning",
        found: `${where}: ${got.credentials === "present" ? "the credentials were refused" : "asks for credentials, and the spec gives none"}`,
        fix:
          got.credentials === "present"
            ? "check the username and token (and the token's scopes)"
            : "add username: { env: … } and password: { env: … }, or docker login",
      });
    } else {
      add({
        ...base,
        status: got.status < 400 ? "ok" : "failed",
        found: `${where}: HTTP ${got.status}${got.credentials === "present" ? ", credentials accepted" : ""}`,
      });
    }
  }

  // base images: every requested platform in each external base, found before any build
  if (f.inputs) {
    const problems = basePlatformProblems(spec.images, f.inputs);
    for (const d of problems) add({ id: "base-platforms", title: "base images", status: "failed", found: d.message, ...(d.hint ? { fix: d.hint } : {}) });
    const unread = spec.images.flatMap((img) => (f.inputs?.[img.name]?.bases ?? []).filter((b) => b.error).map((b) => `${img.name}: ${b.ref}: ${b.error}`));
    for (const u of unread) add({ id: "base-platforms", title: "base images", status: "warning", found: `could not read ${u}` });
    if (problems.length === 0 && unread.length === 0)
      add({ id: "base-platforms", title: "base images", status: "ok", found: "every base offers every platform its image asks for" });
  } else if (f.inputsError) add({ id: "base-platforms", title: "base images", status: "warning", found: f.inputsError });

  checks.push(...dockerfileLints(spec, f, native));
  return checks;
}

const COMPILE_RE =
  /\b(go build|cargo build|gcc|g\+\+|clang|cmake|make|mvn|gradle|rustc|dotnet publish|npm (?:ci|install)|yarn install|pip (?:install|wheel))\b/;
const ARCH_URL_RE = /(?:curl|wget|ADD)\b[^\n]*https?:\/\/\S*(amd64|x86_64|aarch64|arm64|armv7|armhf)/i;

/**
 * The stage the image is made of (its target:, else the last; through FROM an earlier stage, that
 * stage's) when FROM --platform fixes it to anything but the platform being built: verify sees each
 * config name its platform, while the files are the pin's.
 */
function pinnedFinalStage(img: Spec["images"][number], froms: readonly FromLine[], lines: readonly string[]): FromLine | undefined {
  const nameOf = (f: FromLine) => /\sAS\s+(\S+)\s*$/i.exec(lines[f.line - 1] ?? "")?.[1]?.toLowerCase();
  const byName = new Map(froms.flatMap((f) => (nameOf(f) ? [[nameOf(f)!, f] as const] : [])));
  let stage = img.target ? byName.get(img.target.toLowerCase()) : froms.at(-1);
  for (let hops = 0; stage && !stage.platform && stage.kind === "stage" && hops < froms.length; hops++) stage = byName.get(stage.ref.toLowerCase());
  const platform = stage?.platform;
  if (!stage || !platform || platform.includes("$TARGET")) return undefined;
  // pinned to the one platform built (as the spec writes it: linux/aarch64 is linux/arm64): the same files
  const pin = parsePlatform(platform);
  return pin.ok && img.platforms.length === 1 && img.platforms[0] === pin.platform ? undefined : stage;
}

/**
 * Dockerfiles that build slowly or wrongly for foreign platforms: a compiler run under emulation where
 * FROM --platform=$BUILDPLATFORM with TARGETARCH would cross-compile natively, and an architecture
 * written into a download URL (every platform would get that one's binary).
 */
export function dockerfileLints(spec: Spec, f: Pick<DoctorFacts, "dockerfiles">, native: readonly string[]): Check[] {
  const out: Check[] = [];
  for (const img of spec.images) {
    const text = f.dockerfiles[img.name];
    if (text === undefined) continue;
    const foreign = img.platforms.some((p) => !native.includes(platformParts(p).arch));
    const file = `${img.context}/${img.dockerfile}`;
    const froms = fromLines(text);
    const lines = text.split("\n");
    const pinned = pinnedFinalStage(img, froms, lines);
    if (pinned)
      out.push({
        id: "dockerfile-pinned-platform",
        title: `${img.name}: the image's stage is pinned to one platform`,
        status: "warning",
        found: `${file}:${pinned.line}: FROM --platform=${pinned.platform}: each of ${img.platforms.join(", ")} gets that platform's files under its own name (exec format error where they run)`,
        fix: "drop --platform from the stage the image is made of (pin build stages to $BUILDPLATFORM and copy cross-compiled files from them)",
      });
    lines.forEach((line, i) => {
      if (!/^\s*(RUN|ADD)\b/i.test(line)) return;
      // the stage this line is in: the last FROM above it
      const stage = [...froms].reverse().find((fl) => fl.line <= i + 1);
      const onBuildPlatform = stage?.platform?.includes("BUILDPLATFORM") ?? false;
      if (foreign && !onBuildPlatform && /^\s*RUN\b/i.test(line) && COMPILE_RE.test(line)) {
        out.push({
          id: "dockerfile-emulation",
          title: `${img.name}: compiling under emulation`,
          status: "warning",
          found: `${file}:${i + 1}: ${line.trim().slice(0, 80)} runs under QEMU for foreign platforms (5-20x slower)`,
          fix: "build in a stage FROM --platform=$BUILDPLATFORM and cross-compile with TARGETOS/TARGETARCH (GOARCH=$TARGETARCH, …)",
        });
      }
      const arch = ARCH_URL_RE.exec(line);
      if (arch && img.platforms.length > 1 && !/\$\{?TARGET(ARCH|PLATFORM|VARIANT)/.test(line)) {
        out.push({
          id: "dockerfile-arch-url",
          title: `${img.name}: architecture in a download URL`,
          status: "warning",
          found: `${file}:${i + 1}: "${arch[1]}" is written into the URL: every platform gets that architecture's file`,
          fix: "use ARG TARGETARCH and ${TARGETARCH} in the URL (map names like x86_64 with a case on it)",
        });
      }
    });
  }
  return out;
}
