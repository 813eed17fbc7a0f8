// apply --shard PLATFORM: this machine's share of a run, for `multiarch merge` to put together. Builds,
// pushes and checks every image of that platform (its per-arch plan, the same strategy decisions), and
// writes DIR/shards/<platform>.json: the run's identity and, per image and repository, what was pushed.
import { join } from "node:path";
import { ownDir, writeOwnFile } from "@multiarch/executor";
import {
  asPlan,
  type Platform,
  parsePlatform,
  perArchTag,
  planIdentity,
  platformSlug,
  refStepId,
  SHARD_VERSION,
  type Shard,
  testStepId,
} from "@multiarch/plan";
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { displayPath } from "../format.ts";
import { gitFacts } from "./git-facts.ts";
import { compileAndWrite } from "./prepare.ts";
import { runPlan } from "./run-plan.ts";

type StepReport = { id: string; status: string; check?: { manifests: Record<string, string> } };

/** apply --shard P...: `shards` are the platforms asked for, as typed. */
export async function runShards(ctx: CommandContext<"apply">, shards: readonly string[], concurrency: number): Promise<Outcome> {
  const { values, io, signal } = ctx;
  const wanted: Platform[] = [];
  for (const p of shards) {
    const parsed = parsePlatform(p);
    if (!parsed.ok) return { exit: EXIT.usage, message: `--shard ${parsed.message}${parsed.hint ? `; ${parsed.hint}` : ""}` };
    wanted.push(parsed.platform);
  }
  const prepared = await compileAndWrite(values, io, { command: "apply", dryRun: values["dry-run"], signal });
  if (!prepared.ok) return prepared.outcome;
  try {
    const { git } = await gitFacts(prepared.spec, io);
    const identity = { plan: planIdentity(prepared.plan), commit: git?.sha ?? "none" };
    const dir = join(prepared.outAbs, "shards");
    // the folder the shard files go to, before anything is built (a link there is refused, not built for)
    ownDir(prepared.outAbs, dir);
    const written: string[] = [];
    let exit: number = EXIT.ok;
    const reports: unknown[] = [];
    const problems: string[] = [];
    // how many of them a run printed already (its summary line): the message is printed if any was not
    let shown = 0;
    for (const platform of wanted) {
      const arch = prepared.archPlans.find((a) => a.platform === platform);
      if (!arch) {
        exit = EXIT.usage;
        problems.push(`--shard ${platform}: no image of this run is built for it (the spec's platforms, and --platform if given)`);
        continue;
      }
      io.stderr.write(`== shard ${platform}\n`);
      // a per-arch plan's paths are relative to plans/, where it is written
      const outcome = await runPlan(ctx, asPlan(arch), join(prepared.outAbs, "plans"), concurrency, prepared.warnings, {
        probed: prepared.engine,
        ...(prepared.changedInputs ? { changedInputs: prepared.changedInputs } : {}),
      });
      reports.push(outcome.data?.report);
      if (outcome.exit !== EXIT.ok) {
        exit = Math.max(exit, outcome.exit);
        // why it stopped (a preflight problem, the summary's last line), said per shard in --json's message
        if (outcome.message) problems.push(`--shard ${platform}: ${outcome.message}`);
        if (outcome.message && outcome.messageShown) shown++;
        continue;
      }
      // a dry run built nothing: no shard file to write
      if (values["dry-run"]) continue;
      const report = outcome.data!.report as { steps: StepReport[]; staged: { ref: string; digest: string; key: string }[] };
      const file: Shard = { version: SHARD_VERSION, identity, platform, images: {} };
      for (const img of arch.images) {
        const refs: Shard["images"][string]["refs"] = {};
        for (const ref of img.refs) {
          const staging = report.staged.find((s) => s.key === perArchTag(ref.staging, platform));
          const verify = report.steps.find((s) => s.id === refStepId("verify", img.name, ref, platform));
          const manifest = verify?.check?.manifests[platform];
          if (staging && manifest) refs[ref.name] = { staging: staging.key, digest: staging.digest, manifest };
        }
        const tested = report.steps.some((s) => s.id === testStepId(img.name, platform) && s.status === "ok");
        file.images[img.name] = { ...(img.inputHash ? { inputHash: img.inputHash } : {}), tests: tested ? "passed" : "none", refs };
      }
      const path = join(dir, `${platformSlug(platform)}.json`);
      writeOwnFile(prepared.outAbs, path, `${JSON.stringify(file, null, 2)}\n`);
      written.push(path);
      io.stderr.write(`wrote ${displayPath(path, io.cwd)}\n`);
    }
    return {
      exit,
      ...(problems.length ? { message: problems.join("; "), ...(shown === problems.length ? { messageShown: true as const } : {}) } : {}),
      warnings: prepared.warnings,
      data: { plan: prepared.plan, shards: written, reports },
    };
  } finally {
    prepared.lock.release();
  }
}
