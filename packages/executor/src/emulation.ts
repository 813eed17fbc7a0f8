// Can this machine run the planned platforms' RUN steps? Foreign architectures need a QEMU handler in
// binfmt_misc with the F flag (so it works inside containers); without one a build dies halfway with
// "exec format error". Checked before anything starts: a read of a few small files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nativeArchs, qemuHandler } from "@multiarch/spec";

export interface EmulationProblem {
  platform: string;
  handler: string;
  problem: "missing" | "disabled" | "no F flag";
}

export function checkEmulation(platforms: readonly string[], opts: { hostArch?: string; binfmtDir?: string } = {}): EmulationProblem[] {
  const native = nativeArchs(opts.hostArch ?? process.arch);
  const dir = opts.binfmtDir ?? "/proc/sys/fs/binfmt_misc";
  const problems: EmulationProblem[] = [];
  for (const platform of new Set(platforms)) {
    const arch = platform.split("/")[1] ?? "";
    const handler = qemuHandler(arch);
    if (native.includes(arch) || !handler) continue;
    let text: string;
    try {
      text = readFileSync(join(dir, handler), "utf8");
    } catch {
      problems.push({ platform, handler, problem: "missing" });
      continue;
    }
    if (!/^enabled/m.test(text)) problems.push({ platform, handler, problem: "disabled" });
    else if (!/^flags:.*F/m.test(text)) problems.push({ platform, handler, problem: "no F flag" });
  }
  return problems;
}
