// doctor --fix: the safe, local repairs checks.ts proposes, run here; the command says each one first.
import { writeFileSync } from "node:fs";
import { runCommand } from "@multiarch/executor";
import type { FixAction } from "./facts.ts";
import { type Env, firstLine } from "./gather.ts";

export async function runFix(fix: FixAction, cwd: string, env: Env, signal?: AbortSignal): Promise<{ ok: boolean; message?: string }> {
  if (fix.kind === "binfmt") {
    try {
      writeFileSync(fix.file, fix.line);
      return { ok: true };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }
  const r = await runCommand({ program: fix.program, args: fix.args }, { cwd, env, timeoutMs: 60_000, ...(signal ? { signal } : {}) });
  return r.ok ? { ok: true } : { ok: false, message: firstLine(r.stderr) || r.message };
}
