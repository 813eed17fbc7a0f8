// The one JSON contract: with --json every command prints exactly one document of this shape on stdout,
// on every path (success, spec error, usage error, engine unreachable, dry run, interrupt). The JSON
// Schema in schemas/report.schema.json is generated from this (json-output.test.ts keeps it current).
import { z } from "zod";

import { JSON_VERSION } from "./context.ts";

export { JSON_VERSION };

const diagnostic = z.object({
  code: z.string().describe("stable diagnostic code, e.g. platform-unknown"),
  severity: z.enum(["error", "warning"]),
  message: z.string(),
  hint: z.string().optional(),
  file: z.string(),
  line: z.number().int().describe("1-based; 0 when the problem has no position"),
  col: z.number().int(),
  path: z
    .array(z.union([z.string(), z.number()]))
    .optional()
    .describe("where in the spec, as keys and indexes"),
});

const step = z.object({
  id: z.string(),
  kind: z.string(),
  image: z.string().optional(),
  platform: z.string().optional(),
  registry: z.string().optional(),
  status: z.enum(["ok", "failed", "skipped", "unchanged", "not-run"]),
  reason: z.string().optional().describe("skipped: why (apply --continue: its image, or one it builds FROM, failed)"),
  startMs: z.number(),
  durationMs: z.number(),
  attempts: z.number().int(),
  digest: z.string().optional(),
  error: z.string().optional(),
  stderrTail: z.string().optional().describe("last lines of the failing command's output, every secret value redacted"),
  check: z.record(z.string(), z.unknown()).optional(),
  unreadable: z.literal(true).optional().describe("verify: the registry could not be read (network, HTTP 5xx, 401): the step failed, no check did"),
  output: z.string().optional(),
  targets: z
    .array(
      z.object({
        target: z.string(),
        status: z.enum(["built", "failed", "cancelled", "skipped"]),
        platforms: z.array(z.string()).optional().describe("failed: the platforms BuildKit names"),
        error: z.string().optional().describe("failed: what BuildKit says of this target (the instruction, its output, its Dockerfile line)"),
      }),
    )
    .optional()
    .describe("a failed bake: what it did to each target (from BuildKit's log)"),
  rounds: z
    .array(z.object({ targets: z.array(z.string()), ok: z.boolean(), durationMs: z.number() }))
    .optional()
    .describe("apply --continue: each run of bake, the later ones without the failed targets and those built FROM them"),
});

const image = z.object({
  name: z.string(),
  platforms: z.array(z.string()),
  digest: z.string().optional(),
  tags: z.array(z.string()),
  durationMs: z.number(),
  status: z
    .enum(["published", "unchanged", "up-to-date", "written", "loaded", "verified", "built", "failed", "skipped", "cancelled", "not-run"])
    .describe("skipped: an image it builds FROM failed; cancelled: bake stopped it when another target failed; not-run: the run stopped first"),
  notPublished: z.string().optional().describe("why this run moves none of the image's tags"),
  reason: z
    .string()
    .optional()
    .describe("failed: the error (for a bake, what BuildKit says of this image: the instruction and its Dockerfile line); skipped, cancelled, not-run: why"),
});

const tag = z.object({
  image: z.string(),
  ref: z.string(),
  status: z.enum(["moved", "unchanged", "not-moved"]).describe("moved: now holds digest; unchanged: already held it; not-moved: left where it was"),
  digest: z.string().optional(),
  previous: z
    .string()
    .nullable()
    .optional()
    .describe(
      "moved: the digest it held just before this run moved it (null: the tag did not exist; absent: not read, e.g. the legacy builder's docker manifest push)",
    ),
  heldAtStart: z
    .string()
    .nullable()
    .optional()
    .describe("moved: the digest it held when the run started, only when someone else moved it before this run did (then warnings has tag-moved-during-run)"),
});

export const JsonOutputSchema = z
  .object({
    version: z.literal(JSON_VERSION),
    command: z.string().describe("validate, plan, apply, or what was typed when it is unknown"),
    ok: z.boolean(),
    exitCode: z.number().int().describe("the process's exit code (README: exit codes)"),
    message: z.string().optional().describe("why the command stopped, for people"),
    errors: z.array(diagnostic),
    warnings: z.array(diagnostic),
    valid: z.object({ file: z.string(), images: z.number().int(), static: z.boolean() }).optional().describe("validate"),
    plan: z.record(z.string(), z.unknown()).optional().describe("plan, apply: the plan that was (or would be) run, as in plan.json"),
    files: z.array(z.string()).optional().describe("plan, ci, import: the files written"),
    checks: z
      .array(
        z.object({
          id: z.string(),
          title: z.string(),
          status: z.enum(["ok", "warning", "failed"]),
          found: z.string(),
          fix: z.string().optional(),
        }),
      )
      .optional()
      .describe("doctor: each check, what it found, and the fix"),
    fixes: z
      .array(z.object({ action: z.string(), ok: z.boolean(), message: z.string().optional() }))
      .optional()
      .describe("doctor --fix: what it ran"),
    inspected: z
      .object({
        ref: z.string(),
        digest: z.string(),
        mediaType: z.string(),
        images: z.array(z.object({ platform: z.string(), digest: z.string(), size: z.number() })),
        attestations: z.array(z.object({ for: z.string(), digest: z.string(), size: z.number() })),
      })
      .optional()
      .describe("inspect: what REF holds"),
    signature: z
      .object({ verified: z.boolean(), key: z.string(), message: z.string().optional() })
      .optional()
      .describe("inspect --key: whether REF carries a cosign signature that key verifies"),
    promoted: z
      .object({ version: z.string(), sources: z.record(z.string(), z.string()).describe("image@registry -> the ref whose index its tags point at") })
      .optional()
      .describe("promote: the version promoted and where each index came from"),
    graph: z
      .object({
        nodes: z.array(
          z.object({
            id: z.string(),
            platforms: z.array(z.string()),
            registries: z.array(z.string()),
            internal: z.boolean(),
            groups: z.array(z.string()),
            matrixOf: z.string().optional(),
          }),
        ),
        edges: z.array(z.object({ from: z.string(), to: z.string(), context: z.string() })),
        groups: z.array(z.object({ name: z.string(), images: z.array(z.string()) })),
      })
      .optional()
      .describe("graph: images, image: links, groups"),
    notCarried: z.array(z.string()).optional().describe("import: what the bake file says that the spec could not carry, or carries differently"),
    shards: z.array(z.string()).optional().describe("apply --shard: the shard files written"),
    reports: z.array(z.unknown()).optional().describe("apply --shard: one report per shard"),
    problems: z.array(z.string()).optional().describe("merge: why the shards cannot be merged"),
    changed: z.array(z.string()).optional().describe("plan, apply --since: the images whose inputs changed (empty: nothing to do)"),
    dryRun: z
      .array(z.object({ stage: z.string(), step: z.string(), command: z.string() }))
      .optional()
      .describe("apply --dry-run: the commands, in order"),
    report: z
      .object({
        strategy: z.record(z.string(), z.unknown()),
        durationMs: z.number(),
        steps: z.array(step),
        images: z.array(image),
        tags: z.array(tag).describe("every user tag the plan publishes, and what this run did to it"),
        staged: z
          .array(
            z.object({
              image: z.string().optional(),
              ref: z.string(),
              digest: z.string(),
              key: z.string().describe("the plan's key it is recorded under (a ref's staging, -ARCH per platform): not a tag"),
            }),
          )
          .describe("what this run pushed, as name@digest (pushes by digest write no tag), with the digest"),
        timings: z
          .array(
            z.object({
              phase: z.string().describe("a phase before the steps (read the spec, hash inputs, registry reads…) or a kind of step (bake, push, verify…)"),
              ms: z.number().describe("wall time (steps of one kind overlap: while at least one ran)"),
              steps: z.number().int().optional(),
              sumMs: z.number().optional().describe("the steps' durations added up"),
            }),
          )
          .optional()
          .describe("where the time went (apply --timings prints it)"),
      })
      .optional()
      .describe("apply, merge, promote: what ran"),
  })
  .strict();

export type JsonOutput = z.infer<typeof JsonOutputSchema>;
