// compile(): a validated spec + injected facts -> bake file, plan, per-arch plans. Pure and repeatable:
// the same inputs give byte-identical artifacts.
import { posix } from "node:path";
import { diag, type Diagnostic, formatPlatform, type Image, parsePlatform, platformSlug, type Spec, sortDiagnostics } from "@multiarch/spec";
import { archiveOf, type BakeFile, buildBakeFile, serializeBakeFile } from "./bake.ts";
import { type BakePaths, bakeArchSteps, bakeStages } from "./bake-plan.ts";
import { manifestStages } from "./manifest-plan.ts";
import { type ArchPlan, PLAN_VERSION, type Plan, type PlannedImage } from "./plan-file.ts";
import { type Facts, renderImages } from "./render.ts";
import { docker, plannedRefs, platformStrings, stagingTag } from "./steps.ts";
import { didYouMean } from "@multiarch/spec";

export interface CompileOptions {
  strategy: Plan["strategy"];
  /** Restrict to these images (their image: dependencies come along where a strategy needs them). */
  images?: readonly string[];
  platforms?: readonly string[];
  /** Output folder relative to the spec folder, forward slashes; default .multiarch */
  outDir?: string;
  /** Load registry-less images' OCI archives into the engine after they are verified. */
  load?: boolean;
}

export interface Compiled {
  bake: BakeFile;
  plan: Plan;
  archPlans: ArchPlan[];
  /** Relative path (inside outDir) -> file content; what `plan` writes. */
  files: Record<string, string>;
}

export type CompileResult = { ok: true; compiled: Compiled; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

export function compile(spec: Spec, facts: Facts, options: CompileOptions): CompileResult {
  const outDir = options.outDir ?? ".multiarch";
  const selection = select(spec, options);
  if (!selection.ok) return { ok: false, errors: selection.errors, warnings: [] };
  const chosen = options.strategy.chosen;
  // The manifest strategy builds dependencies from the registry, so they must be built too.
  const images = chosen === "manifest" ? withDependencies(spec, selection.images) : selection.images;

  const { rendered, diagnostics } = renderImages(spec, images, facts);
  const bake = buildBakeFile(spec, rendered, outDir);
  const all = [...diagnostics];
  const legacy = chosen === "manifest" && options.strategy.legacyBuilder === true;
  if (chosen === "manifest") {
    for (const r of rendered) {
      if (r.image.registries.length === 0) all.push(diag("registry-unknown", r.image.at, `image ${r.image.name}: the manifest strategy needs a registry to merge per-arch images in`, { hint: "add a registry, or use strategy bake (OCI archive output)" }));
      if (legacy && (r.image.secrets.length > 0 || r.image.contexts.length > 0)) {
        all.push(diag("invalid-value", r.image.at, `image ${r.image.name}: build secrets and named contexts need docker buildx, which this engine lacks`, { hint: "install docker buildx (package docker-buildx)" }));
      }
    }
  }
  const errors = sortDiagnostics(all.filter((d) => d.severity === "error"));
  const warnings = sortDiagnostics(all.filter((d) => d.severity === "warning"));
  if (errors.length > 0) return { ok: false, errors, warnings };

  const planned: PlannedImage[] = rendered.map((r) => {
    const staging = stagingTag(bake.target[r.image.name], r.image, r, facts.git?.sha);
    const p: PlannedImage = { name: r.image.name, platforms: platformStrings(r.image.platforms), dependsOn: r.image.dependsOn, refs: plannedRefs(spec, r, staging) };
    if (p.refs.length === 0) p.archive = archiveOf(outDir, r.image);
    if (r.image.test) p.test = r.image.test.run;
    return p;
  });
  const pushWithDocker = chosen === "bake" && options.strategy.pushWithDocker === true;
  const publishTargets = Object.fromEntries(
    planned.filter((p) => p.refs.length).map((p) => [p.name, { tags: p.refs.map((r) => r.staging), ...(pushWithDocker ? { output: ["type=image"] } : {}) }]),
  );
  const paths: BakePaths = { bakeFile: `${outDir}/docker-bake.json`, publishFile: Object.keys(publishTargets).length ? `${outDir}/docker-bake.publish.json` : undefined };

  const specRel = posix.relative(outDir, posix.basename(spec.file)) || posix.basename(spec.file);
  const cwd = posix.relative(outDir, ".") || ".";
  const stages = chosen === "bake" ? bakeStages(spec, planned, paths, pushWithDocker) : manifestStages(spec, rendered, planned, legacy);
  const archives = planned.filter((p) => p.archive);
  if (options.load && archives.length) {
    stages.push({
      name: "load",
      steps: archives.map((p) => ({ id: `load:${p.name}`, kind: "load", image: p.name, commands: [docker(["load", "--input", p.archive!])], inputs: [p.archive!], produces: [] })),
    });
  }
  const plan: Plan = { version: PLAN_VERSION, spec: specRel, cwd, strategy: options.strategy, images: planned, stages };

  const platforms = [...new Set(planned.flatMap((p) => p.platforms))];
  const archPlans: ArchPlan[] = platforms.map((platform) => ({
    version: PLAN_VERSION,
    platform,
    images: planned.filter((p) => p.platforms.includes(platform)).map((p) => ({ ...p, platforms: [platform] })),
    spec: posix.join("..", specRel),
    cwd: posix.join("..", cwd),
    strategy: chosen,
    steps:
      chosen === "bake"
        ? bakeArchSteps(spec, planned, bake, paths, platform)
        : stages.flatMap((s) => s.steps).filter((s) => s.kind === "login" || ((s.kind === "build" || s.kind === "push") && s.platform === platform)),
  }));

  const files: Record<string, string> = {
    "docker-bake.json": serializeBakeFile(bake),
    "plan.json": `${JSON.stringify(plan, null, 2)}\n`,
  };
  if (paths.publishFile) files["docker-bake.publish.json"] = serializeBakeFile({ target: publishTargets });
  for (const ap of archPlans) {
    const slug = platformSlug((parsePlatform(ap.platform) as { ok: true; platform: Image["platforms"][number] }).platform);
    files[`plans/${slug}.json`] = `${JSON.stringify(ap, null, 2)}\n`;
  }
  return { ok: true, compiled: { bake, plan, archPlans, files }, warnings };
}

function select(spec: Spec, options: CompileOptions): { ok: true; images: Image[] } | { ok: false; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const at = { file: spec.file, line: 0, col: 0 };
  const names = spec.images.map((i) => i.name);
  for (const n of options.images ?? []) {
    if (!names.includes(n)) errors.push(diag("selection-unknown", at, `--image ${n}: no such image`, { hint: didYouMean(n, names) ?? `images: ${names.join(", ")}` }));
  }
  const wanted: string[] = [];
  for (const p of options.platforms ?? []) {
    const parsed = parsePlatform(p);
    if (!parsed.ok) errors.push(diag("selection-unknown", at, `--platform ${parsed.message}`, { hint: parsed.hint }));
    else wanted.push(parsed.canonical);
  }
  if (errors.length) return { ok: false, errors };
  let images = options.images?.length ? spec.images.filter((i) => options.images!.includes(i.name)) : spec.images;
  if (wanted.length) {
    images = images
      .map((i) => ({ ...i, platforms: i.platforms.filter((p) => wanted.includes(formatPlatform(p))) }))
      .filter((i) => i.platforms.length > 0);
    if (images.length === 0) return { ok: false, errors: [diag("selection-unknown", at, `no selected image is built for ${wanted.join(", ")}`)] };
  }
  return { ok: true, images };
}

function withDependencies(spec: Spec, images: Image[]): Image[] {
  const want = new Set(images.map((i) => i.name));
  for (const img of [...spec.images].reverse()) if (want.has(img.name)) for (const d of img.dependsOn) want.add(d);
  const selected = new Map(images.map((i) => [i.name, i]));
  return spec.images.filter((i) => want.has(i.name)).map((i) => selected.get(i.name) ?? i);
}
