// multiarch merge: the shards of several machines (apply --shard) into each image's index, by digest;
// verified (platforms exact, each platform the image its shard pushed) and published as apply does.
import { join, resolve } from "node:path";
import { mergePlan } from "@multiarch/compiler";
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { displayPath } from "../format.ts";
import { gitFacts } from "../run/git-facts.ts";
import { compileAndWrite } from "../run/prepare.ts";
import { concurrencyOf, runPlan } from "../run/run-plan.ts";
import { findShards } from "../run/shard-files.ts";

export default async function merge(ctx: CommandContext<"merge">): Promise<Outcome> {
  const { values, io, signal } = ctx;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  const prepared = await compileAndWrite(values, io, { command: "merge", dryRun: values["dry-run"], signal });
  if (!prepared.ok) return prepared.outcome;
  try {
    const from = (values.from ?? [join(prepared.outAbs, "shards")]).map((p) => resolve(io.cwd, p));
    const { shards, skipped, broken, missing } = findShards(from);
    // a folder of the default name may be absent (no shard yet: said below); one named with --from must be there
    if (values.from && missing.length)
      return {
        exit: EXIT.usage,
        message: `--from ${missing.map((p) => displayPath(p, io.cwd)).join(", ")}: no such file or folder; name the folder the shard jobs' artifacts were downloaded to`,
      };
    if (broken)
      return { exit: EXIT.usage, message: `${displayPath(broken.file, io.cwd)} is not a shard file:\n${broken.problems.map((p) => `  ${p}`).join("\n")}` };
    if (skipped.length)
      io.stderr.write(`note: skipped ${skipped.length} file(s) that are not shards: ${skipped.map((f) => displayPath(f, io.cwd)).join(", ")}\n`);
    if (shards.length === 0)
      return {
        exit: EXIT.usage,
        message: `no shard files in ${from.map((p) => displayPath(p, io.cwd)).join(", ")}; run multiarch apply --shard PLATFORM first`,
      };
    const { git } = await gitFacts(prepared.spec, io);
    const merged = mergePlan(prepared.plan, shards, git?.sha ?? "none");
    if (!merged.ok) {
      // the shards failed merge's check of them (missing, of another run, other inputs): nothing was run
      return {
        exit: EXIT.verify,
        message: `cannot merge; no tag was moved:\n${merged.problems.map((p) => `  ${p}`).join("\n")}`,
        data: { problems: merged.problems },
      };
    }
    return await runPlan(ctx, merged.plan, prepared.outAbs, concurrency, prepared.warnings, { probed: prepared.engine });
  } finally {
    prepared.lock.release();
  }
}
