// What a failed `docker buildx bake` did to each of its targets, read from BuildKit's plain progress log.
// bake builds every target in one solve and cancels the others when one fails, and writes no metadata
// file then: this log is the only account of which target broke (and where), which were finished, and
// which were cancelled. The one reader of it (the report, the HTML page and --continue use its result).
import { instructionLines } from "@multiarch/spec";

export interface BakeTargetResult {
  target: string;
  /**
   * built: exported before the run ended; failed: its own step or export failed; cancelled: bake stopped
   * it; skipped (apply --continue): not baked again, as it builds FROM a failed target.
   */
  status: "built" | "failed" | "cancelled" | "skipped";
  /** failed: the platforms BuildKit names (none when the target builds one platform, or when it does not say). */
  platforms?: string[];
  /** failed: what BuildKit quotes for it: the failing instruction, its last output, its Dockerfile line, the error. */
  error?: string;
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
/** BuildKit's Dockerfile excerpt: "Dockerfile:3", then a rule. */
const EXCERPT = /^\S+:\d+\n-{20}/m;

/** "[api linux/arm64 builder 2/3]" -> target api, platform linux/arm64 (bake prefixes vertex names with the target when it builds several). */
function bracket(inner: string, targets: ReadonlySet<string>): { target?: string; platform?: string } {
  const words = inner.split(" ");
  const target = targets.has(words[0]!) ? words[0] : undefined;
  const platform = words.slice(target ? 1 : 0).find((w) => PLATFORM.test(w));
  return { ...(target ? { target } : {}), ...(platform ? { platform } : {}) };
}

/**
 * Per target of a failed bake run: failed (with the error BuildKit quotes for it), built, or cancelled.
 * Quotes BuildKit names no target in (a one-target bake, an error outside any step) fall on every
 * target that did not finish, as does an error with no quote at all. BuildKit runs a step that several
 * targets share once, and prints it under any of their names: a dependency's step (`dependsOn`, through
 * image: links) may be quoted as a dependent's. A quoted step is the named target's when its Dockerfile
 * (`dockerfileOf`) holds it, else the nearest dependency's whose Dockerfile does (the quoted line,
 * "Dockerfile:3" ">>> RUN false", for the step that ended the solve; the quoted instruction for the
 * others), and its quote then names that owner. A target built FROM another failed one is taken as
 * stopped by that one, not failed itself. BuildKit quotes the Dockerfile lines of the step that ended the
 * solve only: another failed step's are taken from its Dockerfile (`dockerfileOf`, named by `nameOf`),
 * when the instruction is on one line range of it.
 */
export function readBakeLog(
  log: string,
  targets: readonly string[],
  dependsOn: ReadonlyMap<string, readonly string[]> = new Map(),
  dockerfileOf?: (target: string) => string | undefined,
  nameOf: (target: string) => string = () => "Dockerfile",
): BakeTargetResult[] {
  const names = new Set(targets);
  const lines = log.split("\n");
  // The error summary: " > [b linux/amd64 2/3] RUN false:" blocks, the last one's Dockerfile lines, then "ERROR: failed to solve: …".
  const finalAt = lines.findLastIndex((l) => l.startsWith("ERROR: "));
  const finalError = lines[finalAt] ?? "";
  const quotes = lines.flatMap((l, i) => {
    const m = /^ > (\[([^\]]+)\] .*):$/.exec(l);
    return m ? [{ at: i, label: m[1]!, ...bracket(m[2]!, names) }] : [];
  });
  // the error of the step itself: "#27 [b linux/amd64 2/3] RUN false" … "#27 ERROR: process … exit code: 1"
  const stepError = (label: string): string | undefined => {
    const vertex = lines.find((l) => l.endsWith(` ${label}`) && /^#\d+ /.test(l))?.split(" ")[0];
    return vertex ? lines.find((l) => l.startsWith(`${vertex} ERROR: `))?.slice(vertex.length + 1) : undefined;
  };
  // "#9 [b 2/2] RUN x" and "#9 [a 2/2] RUN x": the other targets one step's vertex is printed under
  const sharersOf = (label: string): { target: string; platform?: string; label: string }[] => {
    const vertex = lines.find((l) => l.endsWith(` ${label}`) && /^#\d+ /.test(l))?.split(" ")[0];
    if (!vertex) return [];
    const instruction = label.slice(label.indexOf("] ") + 2);
    const labels = new Set(
      lines.flatMap((l) => (l.startsWith(`${vertex} [`) && l.endsWith(`] ${instruction}`) ? [l.slice(vertex.length + 1)] : [])).filter((l) => l !== label),
    );
    return [...labels].flatMap((l) => {
      const b = bracket(l.slice(1, l.indexOf("] ")), names);
      return b.target ? [{ target: b.target, ...(b.platform ? { platform: b.platform } : {}), label: l }] : [];
    });
  };
  /** Per failed target: its platforms, each quote's error, and the instruction of its first quote. */
  const failures = new Map<string, { platforms: Set<string>; error: string[]; instruction?: string }>();
  const fail = (target: string, platform: string | undefined, error: string, instruction?: string) => {
    const f = failures.get(target) ?? { platforms: new Set<string>(), error: [], ...(instruction ? { instruction } : {}) };
    if (platform) f.platforms.add(platform);
    if (!f.error.includes(error)) f.error.push(error);
    failures.set(target, f);
  };
  const unnamed: string[] = [];
  const ancestors = (t: string, seen = new Set<string>()): string[] =>
    (dependsOn.get(t) ?? []).filter((d) => names.has(d) && !seen.has(d) && seen.add(d)).flatMap((d) => [d, ...ancestors(d, seen)]);
  // whose Dockerfile holds the quoted step: the target BuildKit named, else the dependency nearest to it
  const ownerOf = (target: string, label: string, excerpt: string): string => {
    // every line the excerpt quotes, by number: a line such as RUN apk add … is in many Dockerfiles, the
    // lines around it (FROM base, the step before) tell them apart
    const quoted = [...excerpt.matchAll(/^\s*(\d+) \| (?:>>> | {4})?(.*)$/gm)].map((m) => [Number(m[1]), m[2]!.trim()] as const);
    const instruction = label.slice(label.indexOf("] ") + 2);
    const owns = (t: string) => {
      const text = dockerfileOf?.(t);
      if (text === undefined) return false;
      const lines = text.split("\n");
      return quoted.length ? quoted.every(([n, line]) => lines[n - 1]?.trim() === line) : instructionLines(text, instruction).length > 0;
    };
    return owns(target) ? target : (ancestors(target).find(owns) ?? target);
  };
  // When a build step failed, bake cancels the rest, and exports cut short say so (" > [c] exporting to
  // image:" … "failed to commit … snapshot … does not exist"): the cancellation's, not those targets' own
  // failures. An export fails its target only when no build step failed (a push refused).
  const isExport = (label: string) => /^\[[^\]]+\] exporting to /.test(label);
  const stepFailed = quotes.some((q) => !isExport(q.label));
  const counted = quotes.filter((q) => !stepFailed || !isExport(q.label));
  // The Dockerfile excerpt ("Dockerfile:3", dashes, ">>> RUN false", dashes) and the final ERROR line
  // follow the last quote, and are the failed step's: BuildKit may quote exports it cut short after that
  // step, and print their own ERROR lines (an OCI layout's "(*service).Write failed … locked") before it.
  const excerptAt = lines.findIndex(
    (l, i) => i > (quotes.at(-1)?.at ?? -1) && (finalAt < 0 || i < finalAt) && /^[^\s:]+:\d+$/.test(l) && lines[i + 1]?.startsWith("-----"),
  );
  const excerpt = excerptAt < 0 ? [] : lines.slice(excerptAt, finalAt < 0 ? undefined : finalAt);
  // ... unless its ">>>" line is the instruction of exactly one other quote: with two steps failing at once,
  // BuildKit's final error and excerpt are the first failure's, and it may quote the other step last
  const marked = /^\s*\d+ \| >>> (.*)$/m.exec(excerpt.join("\n"))?.[1]?.trim();
  const quoting = marked === undefined ? [] : counted.filter((q) => q.label.slice(q.label.indexOf("] ") + 2).trim() === marked);
  const excerptOwner = quoting.length === 1 ? quoting[0] : counted.at(-1);
  for (const q of counted) {
    const next = quotes.find((o) => o.at > q.at)?.at ?? Number.POSITIVE_INFINITY;
    const end = lines.findIndex((l, i) => i > q.at && (i >= next || i === excerptAt || l.startsWith("ERROR: ")));
    const own = lines.slice(q.at, end < 0 ? undefined : end);
    const last = q === excerptOwner;
    // BuildKit's "------" rules close each quote: dropped at its end, before the excerpt too
    const dashless = (text: string) => text.replace(/(\n------)+\s*$/, "").trimEnd();
    const block = dashless([dashless(own.join("\n")), ...(last ? excerpt : [])].join("\n"));
    // the final ERROR line is the excerpt's step's; the others' are their steps' own
    const error = `${block}\n${last ? finalError : (stepError(q.label) ?? "")}`.trimEnd();
    if (!q.target) {
      unnamed.push(error);
      continue;
    }
    // the quote names the step's owner, not the target BuildKit happened to print it under
    const owner = ownerOf(q.target, q.label, last ? excerpt.join("\n") : "");
    const instruction = q.label.slice(q.label.indexOf("] ") + 2);
    fail(owner, q.platform, owner === q.target ? error : error.replace(`[${q.target} `, `[${owner} `), instruction);
    // the same step in other targets (identical instructions, run once: one vertex printed under each of
    // their names) failed for them too; a dependency's step in a dependent is the dependency's (ownerOf)
    for (const other of sharersOf(q.label)) {
      const theirs = ownerOf(other.target, other.label, last ? excerpt.join("\n") : "");
      if (theirs !== owner) fail(theirs, other.platform ?? q.platform, error.replace(`[${q.target} `, `[${theirs} `), instruction);
    }
  }
  for (const [target, f] of failures) {
    const text = f.instruction === undefined || f.error.some((e) => EXCERPT.test(e)) ? undefined : dockerfileOf?.(target);
    const at = text === undefined ? [] : instructionLines(text, f.instruction!);
    if (at.length !== 1) continue;
    const shown = text!
      .split("\n")
      .slice(at[0]!.line - 1, at[0]!.end)
      .map((l, i) => `${String(at[0]!.line + i).padStart(4)} | >>> ${l}`);
    const excerptOf = [`${nameOf(target)}:${at[0]!.line}`, "--------------------", ...shown, "--------------------"].join("\n");
    // before the step's ERROR line, where BuildKit puts it
    const first = f.error[0]!.split("\n");
    const errorAt = first.at(-1)!.startsWith("ERROR: ") ? first.length - 1 : first.length;
    f.error[0] = [...first.slice(0, errorAt), excerptOf, ...first.slice(errorAt)].join("\n");
  }
  // Each target's export ("#31 [c] exporting to image"): DONE means built; ERROR (a push) means failed.
  const vertexState = new Map<string, string>();
  for (const l of lines) {
    const m = /^#(\d+) (DONE|CANCELED|ERROR)\b/.exec(l);
    if (m) vertexState.set(m[1]!, m[2]!);
  }
  const exported = new Map<string, string>();
  for (const l of lines) {
    const m = /^#(\d+) \[([^\] ]+)\] exporting to /.exec(l);
    if (m && names.has(m[2]!)) exported.set(m[2]!, vertexState.get(m[1]!) ?? "");
  }
  if (!stepFailed) for (const [target, state] of exported) if (state === "ERROR" && !failures.has(target)) fail(target, undefined, finalError);
  const needsFailed = (t: string, seen = new Set<string>()): boolean =>
    (dependsOn.get(t) ?? []).some((d) => {
      if (seen.has(d)) return false;
      seen.add(d);
      return failures.has(d) || needsFailed(d, seen);
    });
  for (const t of [...failures.keys()].filter((t) => needsFailed(t))) failures.delete(t);
  const blame = unnamed.length ? unnamed.join("\n") : finalError;
  return targets.map((target): BakeTargetResult => {
    const f = failures.get(target);
    if (f) return { target, status: "failed", ...(f.platforms.size ? { platforms: [...f.platforms] } : {}), error: f.error.join("\n") };
    if (exported.get(target) === "DONE") return { target, status: "built" };
    // nothing names the target that broke: every unfinished target is suspect
    if (failures.size === 0 || unnamed.length) return { target, status: "failed", ...(blame ? { error: blame } : {}) };
    return { target, status: "cancelled" };
  });
}
