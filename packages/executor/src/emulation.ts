// Can this machine run the planned platforms' RUN steps? Foreign architectures need a QEMU handler in
// binfmt_misc with the F flag (so it works inside containers); without one a build dies halfway with
// "exec format error". Checked before anything starts: a read of a few small files.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nativeArchs, type Platform, platformParts, qemuHandler } from "@multiarch/plan";

/** A binfmt_misc handler as registered: enabled, its flags (F: works inside containers), its interpreter. */
export interface BinfmtHandler {
  enabled: boolean;
  flags: string;
  interpreter: string;
  interpreterExists: boolean;
}

/** A registered binfmt_misc handler as the kernel shows it (apply's preflight and doctor read it alike); null: not registered. */
export function readHandler(dir: string, name: string): BinfmtHandler | null {
  let text: string;
  try {
    text = readFileSync(join(dir, name), "utf8");
  } catch {
    return null;
  }
  const interpreter = /^interpreter (.+)$/m.exec(text)?.[1] ?? "";
  return {
    enabled: /^enabled/m.test(text),
    flags: /^flags: *(\S*)/m.exec(text)?.[1] ?? "",
    interpreter,
    interpreterExists: interpreter !== "" && existsSync(interpreter),
  };
}

export interface EmulationProblem {
  platform: Platform;
  handler: string;
  problem: "missing" | "disabled" | "no F flag";
}

export function checkEmulation(platforms: readonly Platform[], opts: { hostArch?: string; binfmtDir?: string } = {}): EmulationProblem[] {
  const native = nativeArchs(opts.hostArch ?? process.arch);
  const dir = opts.binfmtDir ?? "/proc/sys/fs/binfmt_misc";
  const problems: EmulationProblem[] = [];
  for (const platform of new Set(platforms)) {
    const { arch } = platformParts(platform);
    const handler = qemuHandler(arch);
    if (native.includes(arch) || !handler) continue;
    const h = readHandler(dir, handler);
    if (!h) problems.push({ platform, handler, problem: "missing" });
    else if (!h.enabled) problems.push({ platform, handler, problem: "disabled" });
    else if (!h.flags.includes("F")) problems.push({ platform, handler, problem: "no F flag" });
  }
  return problems;
}
