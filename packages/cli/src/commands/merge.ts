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

/** A file's shard; or it is not one (no identity: a plan, a report, anything else); or why a shard cannot be used. */
function readShard(file: string): { shard: Shard } | { notShard: true } | { problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { notShard: true };
  }
  if (json === null || typeof json !== "object" || !("identity" in json)) return { notShard: true };
  const parsed = parseShard(json);
  return parsed.ok ? { shard: parsed.shard } : { problems: parsed.problems };
}

interface Found {
  shards: Shard[];
  /** Files read that are not shards, skipped with a note. */
  skipped: string[];
  broken?: { file: string; problems: string[] };
}

/**
 * The shards in a folder: its shard files; when it has none, those of its shards/ folder (what
 * apply --shard --out DIR writes); with `sides`, also those of each subfolder (several machines'
 * artifacts side by side), by the same rule.
 */
function shardsIn(dir: string, found: Found, sides: boolean): void {
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  let own = 0;
  for (const f of files) {
    const r = readShard(join(dir, f));
    if ("shard" in r) {
      found.shards.push(r.shard);
      own++;
    } else if ("problems" in r) found.broken ??= { file: join(dir, f), problems: r.problems };
    else found.skipped.push(join(dir, f));
  }
  const shardsDir = join(dir, "shards");
  if (own === 0 && existsSync(shardsDir) && statSync(shardsDir).isDirectory()) shardsIn(shardsDir, found, false);
  if (!sides) return;
  for (const sub of readdirSync(dir)) {
    const d = join(dir, sub);
    if (sub !== "shards" && statSync(d).isDirectory()) shardsIn(d, found, false);
  }
}

function findShards(paths: readonly string[]): Found {
  const found: Found = { shards: [], skipped: [] };
  for (const p of paths) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) shardsIn(p, found, true);
    else {
      const r = readShard(p);
      if ("shard" in r) found.shards.push(r.shard);
      else if ("problems" in r) found.broken ??= { file: p, problems: r.problems };
      else found.skipped.push(p);
    }
  }
  return found;
}

export default async function merge(ctx: CommandContext): Promise<Outcome> {
  const { values, io } = ctx;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  const prepared = await compileAndWrite(values, io, "merge");
  if (!prepared.ok) return prepared.outcome;
  try {
    const from = (list(values.from) ?? [join(prepared.outAbs, "shards")]).map((p) => resolve(io.cwd, p));
    const { shards, skipped, broken } = findShards(from);
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
