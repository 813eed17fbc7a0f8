// Can this machine run the planned platforms' RUN steps? Foreign architectures need a QEMU handler in
// binfmt_misc with the F flag (so it works inside containers); without one a build dies halfway with
// "exec format error". Checked before anything starts: a read of a few small files.
import { readFileSync } from "node:fs";
import { join } from "node:path";

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

export interface EmulationProblem {
  platform: string;
  handler: string;
  problem: "missing" | "disabled" | "no F flag";
}

export function checkEmulation(platforms: readonly string[], opts: { hostArch?: string; binfmtDir?: string } = {}): EmulationProblem[] {
  const native = NATIVE[opts.hostArch ?? process.arch] ?? [];
  const dir = opts.binfmtDir ?? "/proc/sys/fs/binfmt_misc";
  const problems: EmulationProblem[] = [];
  for (const platform of new Set(platforms)) {
    const arch = platform.split("/")[1] ?? "";
    if (native.includes(arch) || !QEMU_NAME[arch]) continue;
    const handler = `qemu-${QEMU_NAME[arch]}`;
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
