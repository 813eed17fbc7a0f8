import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpec, type Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { type Check, doctorChecks, versionAtLeast } from "./checks.ts";
import type { DoctorFacts } from "./facts.ts";

function spec(extra = "", dockerfile = "FROM debian:12\n"): Spec {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-doctor-"));
  mkdirSync(join(dir, ".git"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/Dockerfile"), dockerfile);
  writeFileSync(
    join(dir, "multiarch.yaml"),
    `version: 1\nplatforms: [linux/amd64, linux/arm64, linux/arm/v7]\nregistries:\n  hub: { url: docker.io/acme, username: { env: HUB_USER }, password: { env: HUB_TOKEN } }\nimages:\n  app: { context: app }\n${extra}`,
  );
  const r = loadSpec(join(dir, "multiarch.yaml"));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const handler = (flags = "POCF") => ({ enabled: true, flags, interpreter: "/usr/bin/qemu-x-static", interpreterExists: true });
const healthy = (): DoctorFacts => ({
  hostArch: "x64",
  target: "unix:///var/run/docker.sock",
  docker: { client: "26.1.5+dfsg1", server: "26.1.5+dfsg1" },
  buildx: "github.com/docker/buildx 0.13.1+ds1",
  experimental: false,
  dockerConfig: "/cfg/config.json",
  kernel: "6.1.0-28-amd64",
  binfmt: {
    dir: "/proc/sys/fs/binfmt_misc",
    mounted: true,
    handlers: { "qemu-aarch64": handler(), "qemu-arm": handler() },
    available: { "qemu-aarch64": ":qemu-aarch64:M::\\x7fELF:\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OP", "qemu-arm": ":qemu-arm:M::x:y:/q:OPF" },
  },
  qemu: { "qemu-aarch64": "qemu-aarch64 version 7.2.13" },
  engine: {
    reachable: true,
    buildx: true,
    multiPlatform: true,
    driver: "docker",
    reason: "docker driver with the containerd image store builds multi-platform images",
  },
  registries: { hub: { host: "docker.io", scheme: "https", status: 200, credentials: "present" } },
  dockerfiles: { app: "FROM debian:12\n" },
  inputs: {
    app: {
      dockerfile: "d",
      context: "c",
      contexts: {},
      bases: [{ ref: "debian:12", line: 1, digest: "sha256:x", platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"] }],
    },
  },
});
const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id)!;
const failed = (checks: Check[]) => checks.filter((c) => c.status === "failed").map((c) => c.id);

describe("doctor's checks (pure: facts in, checklist out)", () => {
  test("sign: in the spec needs cosign on this machine", () => {
    const signed = spec("sign: { key: { file: cosign.key } }\n");
    expect(byId(doctorChecks(signed, { ...healthy(), cosign: { version: "v2.5.0" } }), "cosign")).toMatchObject({ status: "ok", found: "v2.5.0" });
    expect(byId(doctorChecks(signed, { ...healthy(), cosign: { error: "cosign not found or not executable" } }), "cosign")).toMatchObject({
      status: "failed",
      fix: expect.stringContaining("apt-get install cosign"),
    });
    expect(doctorChecks(spec(), healthy()).some((c) => c.id === "cosign")).toBe(false);
  });

  test("a provisioned machine: all green, the strategy auto picks is said", () => {
    const checks = doctorChecks(spec(), healthy());
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual([
      "docker-cli",
      "docker-engine",
      "buildx",
      "kernel",
      "binfmt-mounted",
      "qemu-linux/arm64",
      "qemu-linux/arm/v7",
      "builder",
      "registry-hub",
      "base-platforms",
    ]);
    expect(byId(checks, "builder").found).toContain("strategy bake (auto)");
    expect(byId(checks, "qemu-linux/arm64").found).toContain("qemu-aarch64 version 7.2.13");
  });

  test.each<[string, (f: DoctorFacts) => void, string, string, string?]>([
    ["docker missing", (f) => (f.docker = { missing: true }), "docker-cli", "docker is not on PATH", "install Docker"],
    ["docker too old", (f) => (f.docker.client = "18.09.1"), "docker-cli", "docker 18.09.1", "19.03"],
    ["engine down", (f) => (f.docker = { client: "26.1.5", error: "Cannot connect to the Docker daemon" }), "docker-engine", "Cannot connect", "start dockerd"],
    ["no buildx", (f) => delete f.buildx, "buildx", "not available", "docker-buildx"],
    ["old CLI without experimental", (f) => (f.docker.client = "19.03.15"), "buildx", "buildx 0.13", '"experimental": "enabled" in /cfg/config.json'],
    ["old kernel", (f) => (f.kernel = "4.4.0-210"), "kernel", "4.4.0", "native machines"],
    ["binfmt not mounted", (f) => (f.binfmt.mounted = false), "binfmt-mounted", "not mounted", "mount -t binfmt_misc"],
    [
      "handler missing",
      (f) => (f.binfmt.handlers["qemu-aarch64"] = null),
      "qemu-linux/arm64",
      "no qemu-aarch64 handler",
      ":OPF' > /proc/sys/fs/binfmt_misc/register",
    ],
    ["handler disabled", (f) => (f.binfmt.handlers["qemu-arm"] = { ...handler(), enabled: false }), "qemu-linux/arm/v7", "disabled", "echo 1 >"],
    ["no F flag", (f) => (f.binfmt.handlers["qemu-aarch64"] = handler("OC")), "qemu-linux/arm64", 'flags "OC", without F', "echo -1 >"],
    [
      "interpreter gone",
      (f) => (f.binfmt.handlers["qemu-arm"] = { ...handler(), interpreterExists: false }),
      "qemu-linux/arm/v7",
      "missing",
      "qemu-user-static",
    ],
    ["builder missing", (f) => (f.engine = { ...f.engine, builderMissing: "x", reason: "no" }), "builder", "does not exist", "docker buildx create"],
    ["credentials unset", (f) => (f.registries.hub!.credentials = "unset"), "registry-hub", "$HUB_USER and $HUB_TOKEN", "set $HUB_USER"],
    ["credentials refused", (f) => (f.registries.hub!.status = 401), "registry-hub", "refused", "token"],
    [
      "registry unreachable",
      (f) => (f.registries.hub = { host: "docker.io", scheme: "https", error: "getaddrinfo ENOTFOUND", credentials: "present" }),
      "registry-hub",
      "ENOTFOUND",
      "check the URL",
    ],
    [
      "base lacks a platform",
      (f) => (f.inputs!.app!.bases[0]!.platforms = ["linux/amd64", "linux/arm64"]),
      "base-platforms",
      "app/Dockerfile:1 FROM debian:12 has no linux/arm/v7 (it has linux/amd64, linux/arm64)",
      "drop linux/arm/v7 from the image's platforms, or pick a base that has it",
    ],
  ])("%s: named, with the fix", (_name, breakIt, id, found, fix) => {
    const f = healthy();
    breakIt(f);
    const c = byId(doctorChecks(spec(), f), id);
    expect(c.status).toBe("failed");
    expect(c.found).toContain(found);
    if (fix) expect(c.fix).toContain(fix);
  });

  test("a builder whose nodes do not list a planned platform is a warning (the docker driver's list is not read)", () => {
    const f = healthy();
    f.engine = { ...f.engine, driver: "remote", platforms: ["linux/amd64", "linux/arm64"], reason: "builder driver remote builds multi-platform images" };
    const c = byId(doctorChecks(spec(), f), "builder");
    expect(c).toMatchObject({ status: "warning", fix: "add a node for those platforms, or a QEMU handler on the nodes" });
    expect(c.found).toContain("its nodes do not list linux/arm/v7");
    f.engine.driver = "docker";
    expect(byId(doctorChecks(spec(), f), "builder").status).toBe("ok");
  });

  test("--fix actions: the F flag added to the installed registration; a missing handler registered; never a package install", () => {
    const f = healthy();
    f.binfmt.handlers["qemu-aarch64"] = null;
    f.binfmt.handlers["qemu-arm"] = { ...handler(), interpreterExists: false };
    const checks = doctorChecks(spec(), f);
    expect(byId(checks, "qemu-linux/arm64").actions).toEqual([
      { kind: "binfmt", file: "/proc/sys/fs/binfmt_misc/register", line: ":qemu-aarch64:M::\\x7fELF:\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF" },
    ]);
    expect(byId(checks, "qemu-linux/arm/v7").actions).toBeUndefined();
  });

  test("Dockerfile lints: a compiler under emulation, an architecture in a download URL; not in a $BUILDPLATFORM stage", () => {
    const text = [
      "FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
      "RUN go build -o /out/app .",
      "FROM debian:12",
      "RUN make install",
      "RUN curl -fsSL https://example.com/tool-linux-amd64.tar.gz | tar xz",
      "ARG TARGETARCH",
      "RUN curl -fsSL https://example.com/tool-linux-${TARGETARCH}.tar.gz | tar xz",
    ].join("\n");
    const f = { ...healthy(), dockerfiles: { app: text } };
    const lints = doctorChecks(spec("", text), f).filter((c) => c.id.startsWith("dockerfile"));
    expect(lints.map((c) => [c.id, c.found.split(":").slice(0, 2).join(":")])).toEqual([
      ["dockerfile-emulation", "app/Dockerfile:4"],
      ["dockerfile-arch-url", "app/Dockerfile:5"],
    ]);
    expect(lints.every((c) => c.status === "warning")).toBe(true);
  });

  // found by a review: an image whose stage is FROM --platform=linux/amd64 passed verify as arm64 (each
  // config names its platform) and said "x86_64" there
  test("Dockerfile lints: the image's own stage pinned to one platform; build stages and $TARGETPLATFORM are fine", () => {
    const lint = (dockerfile: string, target?: string) => {
      const f = { ...healthy(), dockerfiles: { app: dockerfile } };
      const s = spec("", dockerfile);
      if (target) s.images[0]!.target = target;
      return doctorChecks(s, f)
        .filter((c) => c.id === "dockerfile-pinned-platform")
        .map((c) => c.found.split(": ")[0]);
    };
    expect(lint("FROM --platform=linux/amd64 debian:12\n")).toEqual(["app/Dockerfile:1"]);
    expect(lint("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN true\nFROM --platform=$BUILDPLATFORM debian:12\n")).toEqual(["app/Dockerfile:3"]);
    expect(lint("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN true\nFROM debian:12\nCOPY --from=build /out /\n")).toEqual([]);
    expect(lint("FROM --platform=$TARGETPLATFORM debian:12\n")).toEqual([]);
    // the stage target: names, not the last one
    const staged = "FROM --platform=linux/amd64 debian:12 AS runtime\nFROM debian:12 AS debug\n";
    expect(lint(staged)).toEqual([]);
    expect(lint(staged, "runtime")).toEqual(["app/Dockerfile:1"]);
    // a stage FROM a pinned one has its files: the pin is found through it
    expect(lint("FROM --platform=$BUILDPLATFORM node:20 AS base\nRUN npm ci\nFROM base AS runtime\nRUN echo r\n")).toEqual(["app/Dockerfile:1"]);
    expect(lint("FROM --platform=$BUILDPLATFORM node:20 AS base\nFROM base AS mid\nFROM mid\n")).toEqual(["app/Dockerfile:1"]);
    // pinned to the one platform built, however it is written
    const single = (pin: string, platform: Spec["images"][number]["platforms"][number]) => {
      const f = { ...healthy(), dockerfiles: { app: `FROM --platform=${pin} debian:12\n` } };
      const s = spec("", f.dockerfiles.app);
      s.images[0]!.platforms = [platform];
      return doctorChecks(s, f).filter((c) => c.id === "dockerfile-pinned-platform").length;
    };
    expect([single("linux/arm64/v8", "linux/arm64"), single("linux/aarch64", "linux/arm64"), single("LINUX/AMD64", "linux/amd64")]).toEqual([0, 0, 0]);
    expect(single("linux/amd64", "linux/arm64")).toBe(1);
  });

  test("versions compare numerically", () => {
    expect(versionAtLeast("26.1.5+dfsg1", "19.03")).toBe(true);
    expect(versionAtLeast("19.3.0", "19.03")).toBe(true);
    expect(versionAtLeast("18.09.9", "19.03")).toBe(false);
    expect(versionAtLeast("update-binfmts 2.2.2", "2.1.7")).toBe(true);
    expect(versionAtLeast("", "1.0")).toBe(false);
  });
});
