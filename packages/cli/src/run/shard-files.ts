// The shard files merge reads (apply --shard wrote them, one per platform and machine): found in the
// files and folders given, each checked to be a shard; other files are skipped with a note.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Shard } from "@multiarch/plan";
import { parseShard } from "@multiarch/plan/read";

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
  /** Paths given that do not exist (a typo, an artifact download that wrote elsewhere). */
  missing: string[];
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

export function findShards(paths: readonly string[]): Found {
  const found: Found = { shards: [], skipped: [], missing: [] };
  for (const p of paths) {
    if (!existsSync(p)) {
      found.missing.push(p);
      continue;
    }
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
