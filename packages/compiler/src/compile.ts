// compile(): a validated spec + injected facts -> bake file, plan, per-arch plans. Pure and repeatable:
// the same inputs give byte-identical artifacts.

import { posix } from "node:path";
import { type ArchPlan, PLAN_VERSION, type Plan, type PlannedImage, type Step } from "@multiarch/plan";
import {
  archSuffix,
  type Diagnostic,
  diag,
  didYouMean,
  formatPlatform,
  type Image,
  parsePlatform,
  platformSlug,
  type Spec,
  splitDiagnostics,
} from "@multiarch/spec";
import { archiveOf, type BakeFile, buildBakeFile, pushOutput, serializeBakeFile } from "./bake.ts";
import { type BakePaths, bakeArchSteps, bakeStages } from "./bake-plan.ts";
import { builderOf } from "./builder.ts";
import { basePlatformProblems, type Decision, decide, HASH_LABEL, type ImageHash, inputHashes, PARTS_LABEL, partsText } from "./inputs.ts";
import { manifestRules, manifestStages } from "./manifest-plan.ts";
import { type Facts, type RenderedImage, renderImages } from "./render.ts";
import { archCheckSteps, docker, plannedRefs, platformStrings, signingOf, stagingTag, valueRef } from "./steps.ts";

export interface CompileOptions {
  strategy: Plan["strategy"];
  /** Restrict to these images; their image: dependencies are built too (not published unless selected). */
  images?: readonly string[];
  /** Restrict to the images of these groups (with `images`: both). */
  groups?: readonly string[];
  /** Restrict to these platforms; an image built for a subset of its platforms is never published. */
  platforms?: readonly string[];
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

/** Every problem compile would report, nothing planned or serialised: what validate needs (a third of its time on 250 images). */
export function check(spec: Spec, facts: Facts, options: CompileOptions): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const checked = diagnose(spec, facts, options);
  return { errors: checked.ok ? [] : checked.errors, warnings: checked.warnings };
}

/** compile's first half: the selection, the rendered images and the bake file, and every diagnostic. */
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
  const hashes = facts.inputs ? inputHashes(rendered, facts.inputs, options.strategy, signer(spec)) : new Map<string, ImageHash>();
  const decisions = new Map<string, Decision>();
  // the spec's own index annotations, before the input hash joins them: what verify checks
  const indexAnnotations = new Map(rendered.flatMap((r) => (r.indexAnnotations ? [[r.image.name, r.indexAnnotations] as const] : [])));
  for (const r of rendered) {
    const h = hashes.get(r.image.name);
    if (h) decorate(r, h, chosen === "bake");
    reproducible(r, facts, options.ociLabels !== false);
    if (h && facts.published && !options.rebuild && selected.has(r.image.name) && !notPublished.has(r.image.name)) {
      const refs = plannedRefs(spec, r, "");
      decisions.set(r.image.name, decide({ name: r.image.name, platforms: platformStrings(r.image.platforms), dependsOn: [], refs }, h, facts.published));
    }
  }
  // An image not built in this run is FROM'd by digest: what its tags hold (or are about to).
  const external = new Map<string, string>();
  for (const r of rendered) {
    const d = decisions.get(r.image.name);
    const first = plannedRefs(spec, r, "")[0];
    if (first && d?.kind === "up-to-date") external.set(r.image.name, `docker-image://${first.name}@${d.digest}`);
    if (first && d?.kind === "reuse") external.set(r.image.name, `docker-image://${first.name}@${d.digests[first.name]}`);
  }
  // Layer timestamps clamped to SOURCE_DATE_EPOCH where the builder allows it: buildx's docker driver
  // refuses the option for image outputs ("conflicts with unpack"), so only other drivers get it.
  const driver = options.strategy.engine?.driver;
  const rewriteTimestamp = Boolean(driver && driver !== "docker" && facts.git?.time);
  const bake = buildBakeFile(spec, rendered, outDir, selected, external, rewriteTimestamp);
  const legacy = chosen === "manifest" && options.strategy.legacyBuilder === true;
  const all = [
    ...diagnostics,
    ...(chosen === "manifest" ? manifestRules(rendered, legacy, options.strategy.engine) : []),
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
    // what is built here must find each platform in its bases (images whose tags hold them build nothing)
    ...(facts.inputs
      ? basePlatformProblems(
          rendered.filter((r) => !["up-to-date", "reuse"].includes(decisions.get(r.image.name)?.kind ?? "")).map((r) => r.image),
          facts.inputs,
        )
      : []),
  ];
  const { errors, warnings } = splitDiagnostics(all);
  if (errors.length > 0) return { ok: false as const, errors, warnings };
  return {
    ok: true as const,
    warnings,
    spec,
    outDir,
    chosen,
    selected,
    notPublished,
    rendered,
    hashes,
    decisions,
    indexAnnotations,
    rewriteTimestamp,
    bake,
    legacy,
  };
}

export function compile(asWritten: Spec, facts: Facts, options: CompileOptions): CompileResult {
  const checked = diagnose(asWritten, facts, options);
  if (!checked.ok) return checked;
  const { warnings, spec, outDir, chosen, selected, notPublished, rendered, hashes, decisions, indexAnnotations, rewriteTimestamp, bake, legacy } = checked;

  const planned: PlannedImage[] = rendered.map((r) => {
    const staging = stagingTag(bake.target[r.image.name], r.image, r, facts.git?.sha);
    const p: PlannedImage = {
      name: r.image.name,
      platforms: platformStrings(r.image.platforms),
      dependsOn: r.image.dependsOn,
      refs: plannedRefs(spec, r, staging),
    };
    if (p.refs.length === 0) {
      p.archive = archiveOf(outDir, r.image);
      // what its test runs after loading it
      const name = bake.target[r.image.name]?.tags?.[0];
      if (name && r.image.test) p.archiveName = name;
    }
    if (r.image.test) p.test = r.image.test.run;
    if (r.dropped.length) p.droppedTags = r.dropped;
    const annotations = indexAnnotations.get(r.image.name);
    if (annotations) p.indexAnnotations = annotations;
    const why = notPublished.get(r.image.name);
    if (why) p.notPublished = why;
    const h = hashes.get(r.image.name);
    if (h) {
      p.inputHash = h.hash;
      p.inputParts = Object.fromEntries(Object.entries(h.parts).map(([k, v]) => [k, v.slice(0, 12)]));
      if (h.unknown) p.inputsUnknown = h.unknown;
    }
    const d = decisions.get(r.image.name);
    if (d?.kind === "up-to-date") p.upToDate = { digest: d.digest };
    else if (d?.kind === "reuse") p.reuse = d.digests;
    else if (d?.kind === "build") p.changed = d.changed;
    return p;
  });
  const pushWithDocker = chosen === "bake" && options.strategy.pushWithDocker === true;
  // With bake, dependencies nobody selected are built inside the bake run (target: links) and never leave it.
  // Images whose tags already hold their inputs' result run nothing; reused ones are only verified and published.
  const run = (chosen === "bake" ? planned.filter((p) => selected.has(p.name)) : planned).filter((p) => !p.upToDate);
  const built = run.filter((p) => !p.reuse);
  // An internal image built by name: its target outputs nothing (cacheonly) unless this file says push.
  const internal = new Set(spec.images.filter((i) => !i.publish).map((i) => i.name));
  const stagingOutput = (p: PlannedImage) =>
    pushWithDocker ? { output: ["type=image"] } : internal.has(p.name) ? { output: [pushOutput(p.refs, rewriteTimestamp)] } : {};
  const publishTargets = Object.fromEntries(
    built.filter((p) => p.refs.length).map((p) => [p.name, { tags: p.refs.map((r) => r.staging), ...stagingOutput(p) }]),
  );
  const paths: BakePaths = {
    bakeFile: `${outDir}/docker-bake.json`,
    publishFile: Object.keys(publishTargets).length ? `${outDir}/docker-bake.publish.json` : undefined,
  };

  const cwd = options.specFromOut ?? (posix.relative(outDir, ".") || ".");
  const specRel = posix.join(cwd, posix.basename(spec.file));
  const stages =
    chosen === "bake"
      ? bakeStages(spec, run, paths, pushWithDocker)
      : manifestStages(
          spec,
          rendered.filter((r) => run.some((p) => p.name === r.image.name)),
          run,
          legacy,
          planned,
        );
  const load = options.load ? loadSteps(run, options.hostPlatform) : [];
  if (load.length) stages.push({ name: "load", steps: load });
  const cleanup = cleanupSteps(built, chosen === "manifest" ? "per-arch" : pushWithDocker ? "index" : undefined);
  if (cleanup.length && stages.some((s) => s.name === "publish")) stages.push({ name: "cleanup", steps: cleanup });
  const secrets = secretSources(spec, planned);
  const builder = builderOf(spec);
  const signing = signingOf(spec.sign);
  const plan: Plan = {
    version: PLAN_VERSION,
    spec: specRel,
    cwd,
    strategy: options.strategy,
    images: planned,
    stages,
    secrets,
    ...(builder ? { builder } : {}),
    ...(signing ? { signing } : {}),
    ...(options.sets?.length ? { sets: [...options.sets] } : {}),
  };

  const platforms = [...new Set(built.flatMap((p) => p.platforms))];
  const archPlans: ArchPlan[] = platforms.map((platform) => ({
    version: PLAN_VERSION,
    platform,
    images: built
      .filter((p) => p.platforms.includes(platform))
      .map((p) => ({ ...p, platforms: [platform], notPublished: `a per-arch plan: ${platform} only` })),
    spec: posix.join("..", specRel),
    cwd: posix.join("..", cwd),
    strategy: options.strategy,
    ...(options.sets?.length ? { sets: [...options.sets] } : {}),
    steps:
      chosen === "bake"
        ? bakeArchSteps(spec, built, bake, paths, platform, pushWithDocker)
        : [
            ...stages.flatMap((s) => s.steps).filter((s) => s.kind === "login" || ((s.kind === "build" || s.kind === "push") && s.platform === platform)),
            ...archCheckSteps(built, (parsePlatform(platform) as { ok: true; platform: Image["platforms"][number] }).platform, legacy),
          ],
    secrets,
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

/** Who signs, as the input hash records it: the public key's source, or the keyless identity. */
const signer = (spec: Spec): string | undefined =>
  spec.sign?.mode === "key" ? `key ${JSON.stringify(spec.sign.publicKey)}` : spec.sign ? `keyless ${spec.sign.issuer} ${spec.sign.identity}` : undefined;

/** --no-push: each image an OCI archive (no registry, so no credentials); a registry cache is not read or written. */
function localOnly(spec: Spec): Spec {
  return {
    ...spec,
    images: spec.images.map(({ cache, ...i }) => ({ ...i, registries: [], ...(cache && cache.type !== "registry" ? { cache } : {}) })),
  };
}

/** Why an image's user tags stay where they are in this run; absent: it publishes. */
function publishDecisions(spec: Spec, images: readonly Image[], selected: ReadonlySet<string>, options: CompileOptions): Map<string, string> {
  const out = new Map<string, string>();
  const full = new Map(spec.images.map((i) => [i.name, i.platforms.map(formatPlatform)]));
  for (const img of images) {
    if (img.registries.length === 0) continue; // an OCI archive is written, never published
    const planned = full.get(img.name)!;
    const built = img.platforms.map(formatPlatform);
    const users = images.filter((i) => selected.has(i.name) && i.dependsOn.includes(img.name)).map((i) => i.name);
    if (!img.publish) {
      out.set(img.name, `internal image (publish: false)${users.length ? `: built for ${users.join(", ")}` : ""}`);
    } else if (!selected.has(img.name)) {
      out.set(
        img.name,
        `dependency of ${users.join(", ") || "a selected image"}: built for it, not published (select it with --image ${img.name} to publish it)`,
      );
    } else if (built.length < planned.length) {
      out.set(
        img.name,
        `subset of the planned platforms: built ${built.join(", ")} of ${planned.join(", ")}; a tag only moves to an index with every planned platform`,
      );
    } else if (options.load) out.set(img.name, "--load: loaded into the engine instead of published");
    else if (options.noPublish) out.set(img.name, "--no-publish");
  }
  return out;
}

/** --load with registries: pull the verified image of the engine's own platform and tag it like the first user tag. */
function loadSteps(images: readonly PlannedImage[], hostPlatform: string | undefined): Step[] {
  return images.flatMap((p): Step[] => {
    if (p.archive)
      return [{ id: `load:${p.name}`, kind: "load", image: p.name, commands: [docker(["load", "--input", p.archive])], inputs: [p.archive], produces: [] }];
    const ref = p.refs[0];
    const platform = hostPlatform && p.platforms.includes(hostPlatform) ? hostPlatform : p.platforms[0];
    if (!ref || !platform) return [];
    const local = `${ref.name}:${ref.tags[0] ?? "latest"}`;
    return [
      {
        id: `load:${p.name}`,
        kind: "load",
        image: p.name,
        platform,
        commands: [docker(["pull", "--platform", platform, { built: ref.staging }]), docker(["tag", { built: ref.staging }, local])],
        inputs: [ref.staging],
        produces: [local],
      },
    ];
  });
}

/**
 * After publishing, the engine's local staging images (docker driver, manifest strategy) are removed, in
 * the background: the engine takes seconds per image, and nothing waits for it. A later run builds under
 * other staging names unless its inputs are the same, and then it has nothing to build.
 */
function cleanupSteps(images: readonly PlannedImage[], local: "index" | "per-arch" | undefined): Step[] {
  if (!local) return [];
  const refs = images
    .filter((p) => !p.notPublished)
    .flatMap((p) =>
      p.refs.flatMap((r) =>
        local === "index"
          ? [r.staging]
          : p.platforms.map((pl) => `${r.staging}-${archSuffix((parsePlatform(pl) as { ok: true; platform: Image["platforms"][number] }).platform)}`),
      ),
    );
  return refs.length
    ? [
        {
          id: "cleanup:local-staging",
          kind: "cleanup",
          commands: [docker(["image", "rm", ...refs], { mayFail: true, detach: true })],
          inputs: refs,
          produces: [],
        },
      ]
    : [];
}

/** Every place a secret value can come from (the signing key and its password too), for the executor's redactor. */
export function secretSources(spec: Spec, images: readonly PlannedImage[]): Plan["secrets"] {
  const used = new Set(images.flatMap((i) => i.refs.map((r) => r.registry)));
  const names = new Set(images.map((i) => i.name));
  const refs: Plan["secrets"] = [
    ...spec.registries.filter((r) => used.has(r.name) && r.password).map((r) => r.password as { env: string } | { file: string }),
    ...spec.images.filter((i) => names.has(i.name)).flatMap((i) => i.secrets.map((s) => (s.env ? { env: s.env } : { file: s.file! }))),
    ...(spec.sign?.mode === "key" ? [spec.sign.key, ...(spec.sign.password ? [spec.sign.password] : [])] : []).map(valueRef),
  ];
  return [...new Map(refs.map((r) => [JSON.stringify(r), r])).values()];
}

/** --image / --group as plan reads them (for graph): the selected images and what they build FROM. */
export function selectImages(
  spec: Spec,
  options: Pick<CompileOptions, "images" | "groups">,
): { ok: true; images: Image[] } | { ok: false; errors: Diagnostic[] } {
  const s = select(spec, options);
  return s.ok ? { ok: true, images: withDependencies(spec, s.images) } : s;
}

function select(
  spec: Spec,
  options: Pick<CompileOptions, "images" | "groups" | "platforms">,
): { ok: true; images: Image[]; asked: string[] } | { ok: false; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const at = { file: spec.file, line: 0, col: 0 };
  const names = spec.images.map((i) => i.name);
  const groupNames = spec.groups.map((g) => g.name);
  for (const g of options.groups ?? []) {
    if (!groupNames.includes(g))
      errors.push(
        diag("selection-unknown", at, `--group ${g}: no such group`, {
          hint: didYouMean(g, groupNames) ?? (groupNames.length ? `groups: ${groupNames.join(", ")}` : "declare it under groups:"),
        }),
      );
  }
  for (const n of options.images ?? []) {
    if (!names.includes(n))
      errors.push(diag("selection-unknown", at, `--image ${n}: no such image`, { hint: didYouMean(n, names) ?? `images: ${names.join(", ")}` }));
  }
  const wanted: string[] = [];
  for (const p of options.platforms ?? []) {
    const parsed = parsePlatform(p);
    if (!parsed.ok) errors.push(diag("selection-unknown", at, `--platform ${parsed.message}`, { hint: parsed.hint }));
    else wanted.push(parsed.canonical);
  }
  if (errors.length) return { ok: false, errors };
  const asked = [...(options.images ?? []), ...spec.groups.filter((g) => options.groups?.includes(g.name)).flatMap((g) => g.images)];
  let images = asked.length ? spec.images.filter((i) => asked.includes(i.name)) : spec.images;
  if (wanted.length) {
    images = images.map((i) => ({ ...i, platforms: i.platforms.filter((p) => wanted.includes(formatPlatform(p))) })).filter((i) => i.platforms.length > 0);
    if (images.length === 0) return { ok: false, errors: [diag("selection-unknown", at, `no selected image is built for ${wanted.join(", ")}`)] };
  }
  return { ok: true, images, asked };
}

/**
 * The selected images plus everything they build FROM, in spec order. A dependency nobody selected is
 * built for the platforms its selected dependents need (they are a subset of its own).
 */
function withDependencies(spec: Spec, images: Image[]): Image[] {
  const selected = new Map(images.map((i) => [i.name, i]));
  const need = new Map<string, Set<string>>(images.map((i) => [i.name, new Set(i.platforms.map(formatPlatform))]));
  for (const img of [...spec.images].reverse()) {
    const mine = need.get(img.name);
    if (!mine) continue;
    for (const d of img.dependsOn) {
      const set = need.get(d) ?? new Set<string>();
      for (const p of mine) set.add(p);
      need.set(d, set);
    }
  }
  return spec.images
    .filter((i) => need.has(i.name))
    .map((i) => selected.get(i.name) ?? { ...i, platforms: i.platforms.filter((p) => need.get(i.name)!.has(formatPlatform(p))) });
}

/** The input hash rides on what is published: a label on each image's config and, with bake, the index's annotations. */
function decorate(r: RenderedImage, h: ImageHash, indexAnnotations: boolean): void {
  const meta = { [HASH_LABEL]: h.hash, [PARTS_LABEL]: partsText(h.parts) };
  r.labels = { ...r.labels, ...meta };
  if (indexAnnotations) r.indexAnnotations = { ...r.indexAnnotations, ...meta };
}

/**
 * Reproducible builds: SOURCE_DATE_EPOCH from the commit's time (BuildKit uses it for the config's
 * timestamps), and the standard OCI labels unless turned off. Added after hashing: they describe the
 * build, not its inputs, so a new commit that changes nothing an image reads rebuilds nothing.
 */
function reproducible(r: RenderedImage, facts: Facts, ociLabels: boolean): void {
  const g = facts.git;
  if (!g) return;
  if (g.time && r.args.SOURCE_DATE_EPOCH === undefined) r.args = { ...r.args, SOURCE_DATE_EPOCH: g.time };
  if (!ociLabels) return;
  const oci: Record<string, string> = { "org.opencontainers.image.revision": g.sha };
  if (g.time) oci["org.opencontainers.image.created"] = new Date(Number(g.time) * 1000).toISOString();
  if (g.source) oci["org.opencontainers.image.source"] = g.source;
  r.labels = { ...oci, ...r.labels };
}
