// multiarch merge: the shards of several machines (apply --shard) into each image's index, by digest;
// verified (platforms exact, each platform the image its shard pushed) and published as apply does.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { mergePlan } from "@multiarch/compiler";
import { parseShard, type Shard } from "@multiarch/plan";
import { type CommandContext, EXIT, list, type Outcome } from "../context.ts";
import { displayPath } from "../format.ts";
import { concurrencyOf, runPlan } from "./apply.ts";
import { compileAndWrite, gitFacts } from "./load.ts";

/** Shard files in the given folders (and their shards/ subfolders) or files, as several machines' artifacts lie side by side. */
function shardFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const json = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => join(dir, f));
  for (const p of paths) {
    if (!existsSync(p)) continue;
    if (statSync(p).isFile()) out.push(p);
    else {
      out.push(...json(p));
      for (const sub of readdirSync(p)) {
        const d = join(p, sub);
        if (statSync(d).isDirectory()) out.push(...json(d), ...(existsSync(join(d, "shards")) ? json(join(d, "shards")) : []));
      }
      if (existsSync(join(p, "shards"))) out.push(...json(join(p, "shards")));
    }
  }
  return [...new Set(out)];
}

export default async function merge(ctx: CommandContext): Promise<Outcome> {
  const { values, io } = ctx;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  const prepared = await compileAndWrite(values, io, "merge");
  if (!prepared.ok) return prepared.outcome;
  try {
    const from = (list(values.from) ?? [join(prepared.outAbs, "shards")]).map((p) => resolve(io.cwd, p));
    const shards: Shard[] = [];
    for (const file of shardFiles(from)) {
      let parsed: ReturnType<typeof parseShard>;
      try {
        parsed = parseShard(JSON.parse(readFileSync(file, "utf8")));
      } catch (e) {
        return { exit: EXIT.usage, message: `cannot read shard ${displayPath(file, io.cwd)}: ${(e as Error).message}` };
      }
      if (!parsed.ok)
        return { exit: EXIT.usage, message: `${displayPath(file, io.cwd)} is not a shard file:\n${parsed.problems.map((p) => `  ${p}`).join("\n")}` };
      shards.push(parsed.shard);
    }
    if (shards.length === 0)
      return {
        exit: EXIT.usage,
        message: `no shard files in ${from.map((p) => displayPath(p, io.cwd)).join(", ")}; run multiarch apply --shard PLATFORM first`,
      };
    const { git } = await gitFacts(prepared.spec, io);
    const merged = mergePlan(prepared.plan, shards, git?.sha ?? "none");
    if (!merged.ok) {
      return {
        exit: EXIT.failed,
        message: `cannot merge; no tag was moved:\n${merged.problems.map((p) => `  ${p}`).join("\n")}`,
        data: { problems: merged.problems },
      };
    }
    return await runPlan(ctx, merged.plan, prepared.outAbs, concurrency, prepared.warnings, prepared.engine);
  } finally {
    prepared.lock.release();
  }
}
