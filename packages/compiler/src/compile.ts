// compile(): a validated spec + injected facts -> bake file, plan, per-arch plans. Pure and repeatable:
// the same inputs give byte-identical artifacts. The jobs, in order: selection (selection.ts), decisions
// (decisions.ts: publish or not, incremental), labels (image-labels.ts), then the assembly here: the
// planned images (planned-images.ts), a strategy's stages (bake-plan.ts, manifest-plan.ts), load and
// clean-up steps (load-and-cleanup.ts), the per-arch plans (arch-plans.ts).

import { posix } from "node:path";
import { type ArchPlan, PLAN_VERSION, type Plan, type PlannedImage } from "@multiarch/plan";
import { type Diagnostic, diag, type Image, type Spec, splitDiagnostics } from "@multiarch/spec";
import { archPlanFile, archPlans } from "./arch-plans.ts";
import { type BakeFile, buildBakeFile, exportsIndex, serializeBakeFile } from "./bake.ts";
import { type BakePaths, bakeStages, type LayoutOutputs, publishTargets } from "./bake-plan.ts";
import { builderOf } from "./builder.ts";
import { checkNamespace, externalBases, incrementalDecisions, localOnly, publishDecisions, signer } from "./decisions.ts";
import { decorate, reproducible } from "./image-labels.ts";
import { basePlatformProblems, type ImageHash, inputHashes } from "./input-hashes.ts";
import { checkArchiveNames, legacyCleanup, loadSteps, testCleanup } from "./load-and-cleanup.ts";
import { manifestRules, manifestStages } from "./manifest-plan.ts";
import { plannedImage } from "./planned-images.ts";
import { type Facts, type RenderedImage, renderImages } from "./render.ts";
import { secretSources } from "./secret-sources.ts";
import { type SelectOptions, select, withDependencies } from "./selection.ts";
import { signingOf } from "./steps.ts";

export interface CompileOptions extends SelectOptions {
  strategy: Plan["strategy"];
  /** Output folder relative to the spec folder, forward slashes; default .multiarch */
  outDir?: string;
  /** The spec folder as seen from outDir (forward slashes); needed when outDir is not below the spec folder. */
  specFromOut?: string;
  /** Load the images into the engine instead of publishing (registry-less images: their OCI archives). */
  load?: boolean;
  /** The engine's own platform: what --load pulls from a registry. */
  hostPlatform?: string;
  /** Everything up to publish: build, push staging refs, verify, test; no user tag moves. */
  noPublish?: boolean;
  /** Nothing leaves the machine: every image is written as an OCI archive and checked there (pull requests). */
  noPush?: boolean;
  /** Build every image even when its tags already hold its inputs' result. */
  rebuild?: boolean;
  /** Add org.opencontainers.image.{source,revision,created} labels (spec build.ociLabels; default on). */
  ociLabels?: boolean;
  /** The --set overrides the spec was read with (already applied to it): recorded in the plan. */
  sets?: readonly string[];
}

export interface Compiled {
  bake: BakeFile;
  plan: Plan;
  archPlans: ArchPlan[];
  /** Relative path (inside outDir) -> file content; what `plan` writes. */
  files: Record<string, string>;
}

export type CompileResult = { ok: true; compiled: Compiled; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

/** Every problem compile would report, nothing planned or serialised: what validate needs (a quarter of its instructions on 250 images). */
export function check(spec: Spec, facts: Facts, options: CompileOptions): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const checked = diagnose(spec, facts, options);
  return { errors: checked.ok ? [] : checked.errors, warnings: checked.warnings };
}

/** compile's first half: the selection, the rendered images and every diagnostic (the bake file is compile's: validate needs none). */
function diagnose(asWritten: Spec, facts: Facts, options: CompileOptions) {
  const spec = options.noPush ? localOnly(asWritten) : asWritten;
  const outDir = options.outDir ?? ".multiarch";
  const selection = select(spec, options);
  if (!selection.ok) return { ok: false as const, errors: selection.errors, warnings: [] };
  const chosen = options.strategy.chosen;
  // An internal image (publish: false) is built only for the images that use it, unless asked for by name.
  const selected = new Set(selection.images.filter((i) => i.publish || selection.asked.includes(i.name)).map((i) => i.name));
  // What the selected images build FROM comes along, exactly as a full run builds it.
  const images = withDependencies(spec, selection.images);
  const notPublished = publishDecisions(spec, images, selected, options);

  const { rendered, diagnostics } = renderImages(spec, images, facts);
  // A dependency --image brought along is built for its users' platforms only, but hashed as the spec plans
  // it: its hash (and so its users') is the full run's, whatever the selection, so neither rebuilds the other.
  const asPlanned = new Map(spec.images.map((i) => [i.name, i.platforms]));
  const platformsOf = (img: Image) => (selected.has(img.name) ? img.platforms : (asPlanned.get(img.name) ?? img.platforms));
  const hashes = facts.inputs ? inputHashes(rendered, facts.inputs, options.strategy, signer(spec), platformsOf) : new Map<string, ImageHash>();
  // the spec's own index annotations, before the input hash joins them: what verify checks
  const ownIndexAnnotations = new Map(rendered.flatMap((r) => (r.indexAnnotations ? [[r.image.name, r.indexAnnotations] as const] : [])));
  // a run of one platform of such an image exports a single manifest: nothing to check there (nor published)
  const indexAnnotations = new Map([...ownIndexAnnotations].filter(([name]) => exportsIndex(rendered.find((r) => r.image.name === name)!.image)));
  for (const r of rendered) {
    const h = hashes.get(r.image.name);
    if (h) decorate(r, h, chosen === "bake");
    reproducible(r, facts, options.ociLabels !== false);
  }
  // A dependency not selected (--image) whose tags hold its inputs' result (every platform the spec
  // plans for it, of which its users need some) is built FROM by digest, as in a full run, not built
  // again; anything else of it (reuse) would be a publish, which it never gets.
  // --no-publish: an image whose tags hold its inputs' result needs no check either (up to date); it moves
  // no tag, so nothing else of the judgement (reuse) applies
  const checkOnly = (name: string) => notPublished.get(name) === "--no-publish";
  const judged = (image: Image) => !options.rebuild && (selected.has(image.name) ? !notPublished.has(image.name) || checkOnly(image.name) : image.publish);
  const decisions = incrementalDecisions(spec, rendered, hashes, facts.published, ({ image }) => (judged(image) ? platformsOf(image) : undefined));
  for (const [name, d] of decisions) if ((!selected.has(name) || checkOnly(name)) && d.kind !== "up-to-date") decisions.delete(name);
  const legacy = chosen === "manifest" && options.strategy.legacyBuilder === true;
  const { errors, warnings } = splitDiagnostics([
    ...diagnostics,
    ...strategyProblems(spec, rendered, options.strategy, legacy),
    ...(chosen === "bake" ? singleManifestProblems(spec, ownIndexAnnotations) : []),
    // what is built here must find each platform in its bases (images whose tags hold them build nothing)
    ...(facts.inputs
      ? basePlatformProblems(
          rendered.filter((r) => !["up-to-date", "reuse"].includes(decisions.get(r.image.name)?.kind ?? "")).map((r) => r.image),
          facts.inputs,
        )
      : []),
  ]);
  if (errors.length > 0) return { ok: false as const, errors, warnings };
  return { ok: true as const, warnings, spec, outDir, chosen, images, selected, notPublished, rendered, hashes, decisions, indexAnnotations, legacy };
}

export function compile(asWritten: Spec, facts: Facts, options: CompileOptions): CompileResult {
  const checked = diagnose(asWritten, facts, options);
  if (!checked.ok) return checked;
  const { warnings, spec, outDir, chosen, images, selected, notPublished, rendered, hashes, decisions, indexAnnotations, legacy } = checked;
  // Layer timestamps clamped to SOURCE_DATE_EPOCH where the builder allows it: buildx's docker driver
  // refuses the option for image outputs ("conflicts with unpack"), so only other drivers get it.
  const driver = options.strategy.engine?.driver;
  const rewriteTimestamp = Boolean(driver && driver !== "docker" && facts.git?.time);
  const bake = buildBakeFile(
    spec,
    rendered,
    outDir,
    selected,
    externalBases(spec, rendered, decisions),
    rewriteTimestamp,
    options.noPush ? checkNamespace(spec) : undefined,
  );

  const planned: PlannedImage[] = rendered.map((r) =>
    plannedImage(spec, r, bake, outDir, facts.git?.sha, { indexAnnotations, notPublished, hashes, decisions }),
  );
  // buildx's docker driver: bake writes OCI layouts the executor pushes by digest; other drivers push by
  // digest themselves (the publish file). Either way no tag is written before publish.
  const stableDigests = new Set(images.filter((i) => i.attest.provenance === false && !i.attest.sbom).map((i) => i.name));
  const layout: LayoutOutputs | undefined =
    chosen === "bake" && options.strategy.ociLayout === true ? { rewriteTimestamp: Boolean(facts.git?.time), reproducible: stableDigests } : undefined;
  // With bake, dependencies nobody selected are built inside the bake run (target: links) and never leave it.
  // Images whose tags already hold their inputs' result run nothing; reused ones are only verified and published.
  // An image nobody selected (a dependency, an internal base) runs only for a running image built FROM it:
  // an internal base whose users are all up to date builds nothing (with bake, links build them anyway).
  const needed = new Set(planned.filter((p) => selected.has(p.name) && !p.upToDate).map((p) => p.name));
  for (const p of [...planned].reverse()) if (needed.has(p.name) && !p.reuse) for (const d of p.dependsOn) needed.add(d);
  const run = (chosen === "bake" ? planned.filter((p) => selected.has(p.name)) : planned.filter((p) => needed.has(p.name))).filter((p) => !p.upToDate);
  const built = run.filter((p) => !p.reuse);
  const running = new Set(run.map((p) => p.name));
  const publish = layout ? {} : publishTargets(built, Boolean(facts.git?.time));
  const paths: BakePaths = {
    bakeFile: `${outDir}/docker-bake.json`,
    publishFile: Object.keys(publish).length ? `${outDir}/docker-bake.publish.json` : undefined,
  };

  const cwd = options.specFromOut ?? (posix.relative(outDir, ".") || ".");
  const stages =
    chosen === "bake"
      ? bakeStages(spec, run, paths, layout)
      : manifestStages(
          spec,
          rendered.filter((r) => running.has(r.image.name)),
          run,
          legacy,
          planned,
          Boolean(facts.git?.time),
        );
  // --no-push --load: the archives (named under checkNamespace for their tests) take the image's own names
  const renames = new Map(
    options.noPush
      ? rendered.map((r) => [r.image.name, r.tags.map((tag, i) => [bake.target[r.image.name]!.tags![i]!, `${r.image.repository}:${tag}`] as const)] as const)
      : [],
  );
  const load = options.load ? loadSteps(run, options.hostPlatform, renames) : [];
  if (load.length) stages.push({ name: "load", steps: load });
  const cleanup = [
    ...(stages.some((s) => s.name === "publish") ? legacyCleanup(built, legacy) : []),
    // with --load, what the tests pulled stays (the load step takes it); the check names go, as a
    // failed test skips the load step that would have renamed them
    ...testCleanup(options.load ? [] : run, undefined, options.noPush ? checkArchiveNames(run, bake) : []),
  ];
  if (cleanup.length) stages.push({ name: "cleanup", steps: cleanup });
  const builder = builderOf(spec);
  const signing = signingOf(spec.sign);
  const plan: Plan = {
    version: PLAN_VERSION,
    spec: posix.join(cwd, posix.basename(spec.file)),
    cwd,
    strategy: options.strategy,
    images: planned,
    stages,
    secrets: secretSources(spec, planned),
    ...(builder ? { builder } : {}),
    ...(signing ? { signing } : {}),
    ...(options.sets?.length ? { sets: [...options.sets] } : {}),
  };
  const perArch = archPlans(built, { spec, plan, stages, bake, paths, layout });

  const files: Record<string, string> = {
    "docker-bake.json": serializeBakeFile(onlyTargetsOf(bake, built)),
    "plan.json": `${JSON.stringify(plan, null, 2)}\n`,
  };
  if (paths.publishFile) files["docker-bake.publish.json"] = serializeBakeFile({ target: publish });
  for (const ap of perArch) files[archPlanFile(ap)] = `${JSON.stringify(ap, null, 2)}\n`;
  return { ok: true, compiled: { bake, plan, archPlans: perArch, files }, warnings };
}

/**
 * The bake file of this run: the targets it builds and those they link (target: contexts). buildx reads
 * and checks every target of the file whichever it is asked for: at 200 targets that costs each bake
 * about 0.3 s (measured with --print), which an incremental run building one image would pay in full.
 */
function onlyTargetsOf(bake: BakeFile, built: readonly PlannedImage[]): BakeFile {
  const keep = new Set<string>();
  const visit = (name: string) => {
    const t = bake.target[name];
    if (!t || keep.has(name)) return;
    keep.add(name);
    for (const c of Object.values(t.contexts ?? {})) if (c.startsWith("target:")) visit(c.slice("target:".length));
  };
  for (const p of built) visit(p.name);
  // a run that builds nothing (all up to date) reads no bake file: the whole one is written, which bake
  // takes as it is (an empty group is no bake file to it)
  if (keep.size === 0 || keep.size === Object.keys(bake.target).length) return bake;
  return {
    ...bake,
    group: { default: { targets: (bake.group.default?.targets ?? []).filter((n) => keep.has(n)) } },
    target: Object.fromEntries(Object.entries(bake.target).filter(([n]) => keep.has(n))),
  };
}

/** index: annotations on an image that is one manifest (one platform, no attestations): there is no index. */
function singleManifestProblems(spec: Spec, own: ReadonlyMap<string, Record<string, string>>): Diagnostic[] {
  return [...own].flatMap(([name, annotations]) => {
    const img = spec.images.find((i) => i.name === name)!;
    if (exportsIndex(img)) return [];
    const keys = Object.keys(annotations).join(", ");
    return [
      diag(
        "invalid-value",
        img.at,
        `image ${name}: index annotations (${keys}) need an index, and this image is one manifest (one platform, no attestations)`,
        {
          hint: "annotate the image manifest (drop index:), or build a second platform or attestations (attest: { provenance: min })",
        },
      ),
    ];
  });
}

/** What the chosen strategy cannot do with this spec on this engine. */
function strategyProblems(spec: Spec, rendered: readonly RenderedImage[], strategy: Plan["strategy"], legacy: boolean): Diagnostic[] {
  return [
    ...(strategy.chosen === "manifest" ? manifestRules(rendered, legacy, strategy.engine) : []),
    ...(legacy && spec.sign
      ? [
          diag(
            "invalid-value",
            spec.sign.at,
            "signing needs docker buildx: without it each list is made again when published, and could differ from the signed one",
            {
              hint: "install docker buildx (package docker-buildx)",
            },
          ),
        ]
      : []),
  ];
}
