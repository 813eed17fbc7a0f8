// The one platform parser, and the one form a platform has from the spec to docker's argv: its canonical
// string ("linux/arm/v7"), typed as the union of the platforms the tool knows, so only the parser (or a
// literal the type checker knows) makes one. Grammar and normalisation follow containerd/platforms, but
// unlike containerd we accept only platforms we know a Linux builder can produce: a typo must not become
// a silent new arch. Its parts (arch, variant) are read with the functions below, never by splitting.
import { closest } from "./suggest.ts";

/** Every platform the tool accepts, in canonical form. */
export const KNOWN_PLATFORMS = [
  "linux/386",
  "linux/amd64",
  "linux/arm/v5",
  "linux/arm/v6",
  "linux/arm/v7",
  "linux/arm64",
  "linux/ppc64le",
  "linux/riscv64",
  "linux/s390x",
  "linux/mips64le",
  "linux/loong64",
] as const;

/** A platform in canonical form: what the spec, plans, shards and docker's --platform all carry. */
export type Platform = (typeof KNOWN_PLATFORMS)[number];

/** A platform's parts, for the few places that need one of them (a runner per arch, a manifest's variant). */
export interface PlatformParts {
  os: "linux";
  arch: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  aarch64: "arm64",
  x86_64: "amd64",
  "x86-64": "amd64",
  i386: "386",
  armhf: "arm/v7",
  armel: "arm/v6",
};
const KNOWN_OS = new Set(["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix"]);
const PARTS = new Map<string, PlatformParts>(
  KNOWN_PLATFORMS.map((p) => {
    const [, arch, variant] = p.split("/") as [string, string, string | undefined];
    return [p, variant ? { os: "linux", arch, variant } : { os: "linux", arch }];
  }),
);
const KNOWN_ARCH = new Set([...PARTS.values()].map((p) => p.arch));

export type PlatformResult =
  | { ok: true; platform: Platform; normalisedFrom?: string }
  | { ok: false; code: "platform-invalid" | "platform-unknown"; message: string; hint?: string };

/** Whether a string is a platform in canonical form (plan files are checked with it). */
export const isPlatform = (s: string): s is Platform => PARTS.has(s);

export const platformParts = (p: Platform): PlatformParts => PARTS.get(p)!;

/** File-name-safe form: linux/arm/v7 -> linux-arm-v7. */
export const platformSlug = (p: Platform): string => p.replaceAll("/", "-");

/** Per-arch tag suffix, the convention users know from GoReleaser: linux/arm/v7 -> armv7. */
export const archSuffix = (p: Platform): string => platformParts(p).arch + (platformParts(p).variant ?? "");

/** A tag's per-arch form: 1.2.0 -> 1.2.0-armv7 (user tags), and each platform's staging key (STAGING-arm64). */
export const perArchTag = (tag: string, p: Platform): string => `${tag}-${archSuffix(p)}`;

/** How an OCI descriptor's (or image config's) platform is written: os/architecture[/variant], whatever the os. */
export const descriptorPlatform = (p: { os: string; architecture: string; variant?: string | undefined }): string =>
  [p.os, p.architecture, p.variant].filter(Boolean).join("/");

/** The platform an image config names, as an index entry writes it (a config without an os is linux's). */
export const configPlatform = (c: { os?: unknown; architecture?: unknown; variant?: unknown }): { os: string; architecture: string; variant?: string } => ({
  os: c.os ? String(c.os) : "linux",
  architecture: c.architecture ? String(c.architecture) : "unknown",
  ...(c.variant ? { variant: String(c.variant) } : {}),
});

export function parsePlatform(input: string): PlatformResult {
  const raw = input.trim();
  const fail = (code: "platform-invalid" | "platform-unknown", message: string, hint?: string): PlatformResult =>
    hint ? { ok: false, code, message, hint } : { ok: false, code, message };

  if (raw === "") return fail("platform-invalid", "platform is empty", "write os/arch, e.g. linux/amd64");
  if (raw.includes("*")) return fail("platform-invalid", `"${input}": wildcards are not supported`, "list each platform, e.g. linux/amd64");
  if (raw !== input || /\s/.test(raw)) return fail("platform-invalid", `"${input}" contains white space`);
  const parts = raw.toLowerCase().split("/");
  if (parts.some((p) => p === "") || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    return fail("platform-invalid", `"${input}" is not os/arch[/variant]`, "e.g. linux/arm64 or linux/arm/v7");
  }
  if (parts.length === 1) {
    const only = parts[0]!;
    if (KNOWN_OS.has(only)) return fail("platform-invalid", `"${input}" names an OS but no architecture`, `write ${only}/amd64 or ${only}/arm64`);
    const arch = ARCH_ALIASES[only] ?? only;
    const hint = KNOWN_ARCH.has(arch.split("/")[0]!) ? `write linux/${arch}` : "write os/arch, e.g. linux/arm64";
    return fail("platform-invalid", `"${input}" has no OS: a bare architecture depends on the machine that reads it`, hint);
  }
  if (parts.length > 3) return fail("platform-invalid", `"${input}" has ${parts.length} parts; a platform is os/arch[/variant]`);

  const [os, archIn, variantIn] = parts as [string, string, string | undefined];
  if (os !== "linux") {
    if (KNOWN_OS.has(os) || os === "macos") {
      return fail("platform-unknown", `"${input}": only linux platforms can be built on a Linux engine`, "use linux/<arch>");
    }
    const s = closest(os, ["linux"]);
    return fail("platform-unknown", `"${input}": unknown OS "${os}"`, s ? `did you mean linux/${archIn}?` : "use linux/<arch>");
  }
  let [arch, variant] = [archIn, variantIn];
  const alias = ARCH_ALIASES[arch];
  if (alias) {
    const [a, v] = alias.split("/") as [string, string | undefined];
    arch = a;
    variant = variant ?? v;
  }
  if (arch === "arm64" && variant !== undefined && ["8", "v8", "v8.0"].includes(variant)) variant = undefined;
  if (arch === "amd64" && variant === "v1") variant = undefined;
  if (arch === "arm") {
    if (variant === undefined) variant = "v7";
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  }
  const canonical = variant ? `linux/${arch}/${variant}` : `linux/${arch}`;
  if (!isPlatform(canonical)) {
    const s = closest(canonical, KNOWN_PLATFORMS) ?? closest(`linux/${arch}`, KNOWN_PLATFORMS);
    return fail("platform-unknown", `"${input}": unknown platform`, s ? `did you mean ${s}?` : `known: ${KNOWN_PLATFORMS.join(", ")}`);
  }
  return canonical === input ? { ok: true, platform: canonical } : { ok: true, platform: canonical, normalisedFrom: input };
}

/** binfmt_misc handler names as Debian's qemu-user-static and tonistiigi/binfmt register them. */
const QEMU_NAME: Record<string, string> = {
  amd64: "x86_64",
  "386": "i386",
  arm64: "aarch64",
  arm: "arm",
  ppc64le: "ppc64le",
  riscv64: "riscv64",
  s390x: "s390x",
  mips64le: "mips64el",
  loong64: "loongarch64",
};

/** The binfmt_misc handler that runs a platform architecture's binaries (qemu-aarch64 for arm64). */
export const qemuHandler = (arch: string): string | undefined => (Object.hasOwn(QEMU_NAME, arch) ? `qemu-${QEMU_NAME[arch]}` : undefined);

/** Architectures a host runs without emulation (node's process.arch -> platform arch). */
const NATIVE: Record<string, string[]> = {
  x64: ["amd64", "386"],
  arm64: ["arm64", "arm"],
  arm: ["arm"],
  ppc64: ["ppc64le"],
  s390x: ["s390x"],
  riscv64: ["riscv64"],
  loong64: ["loong64"],
};

export const nativeArchs = (hostArch: string): readonly string[] => NATIVE[hostArch] ?? [];
