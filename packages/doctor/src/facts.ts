// What doctor knows about the machine: gathered by gather.ts, judged by checks.ts, so the judging is
// table-tested without an engine. Plain data.
import type { BinfmtHandler } from "@multiarch/executor";
import type { EngineFacts, ImageInputFacts } from "@multiarch/plan";

export interface DoctorFacts {
  hostArch: string;
  /** DOCKER_HOST, DOCKER_CONTEXT, or the default socket. */
  target: string;
  docker: { client?: string; server?: string; missing?: boolean; error?: string };
  buildx?: string;
  /** DOCKER_CLI_EXPERIMENTAL=enabled or "experimental": "enabled" in the CLI's config.json. */
  experimental: boolean;
  /** The CLI's config.json, where executor/docker-config.ts finds it ($DOCKER_CONFIG, else ~/.docker). */
  dockerConfig: string;
  kernel: string;
  binfmt: {
    dir: string;
    mounted: boolean;
    /** qemu-* handlers as registered now (null: not registered). */
    handlers: Record<string, BinfmtHandler | null>;
    /** Handler name -> its registration line from /usr/lib/binfmt.d (what --fix registers). */
    available: Record<string, string>;
  };
  /** QEMU user-mode version (from `qemu-ARCH --version`), per handler, when the binary is there. */
  qemu: Record<string, string>;
  updateBinfmts?: string;
  /** `cosign version`'s GitVersion, or why it cannot be run; asked only when the spec signs. */
  cosign?: { version?: string; error?: string };
  engine: EngineFacts;
  /** Each image's Dockerfile text, for the emulation and hard-coded-arch lints. */
  dockerfiles: Record<string, string>;
  registries: Record<string, { host: string; scheme: "http" | "https"; status?: number; error?: string; credentials: "none" | "present" | "unset" }>;
  /** Each image's bases and the platforms they offer (from the registries). */
  inputs?: Record<string, ImageInputFacts>;
  inputsError?: string;
}

/** A safe, local repair doctor --fix may make: a command (said before it runs), or a line written to binfmt_misc. */
export type FixAction = { kind: "command"; program: string; args: string[] } | { kind: "binfmt"; file: string; line: string };
