// promote: point the spec's tags for one version at the index that version's tag already holds, without
// building. In place (a roll back: `latest`, `1`, `1.4` back to 1.4.2), or from one registry to another
// (staging to production): the index is copied by digest, checked to be the very same index, signed
// there, then tagged. Every tag moves as apply moves it: to the verified digest, one at a time, latest last.
import { basename } from "node:path";
import {
  didYouMean,
  INPUT_HASH_LABEL,
  PLAN_VERSION,
  type Plan,
  type PlannedImage,
  type PlannedRef,
  refLabel,
  refStepId,
  repositoryRef,
  type Stage,
  type Step,
  sha256,
} from "@multiarch/plan";
import { type Diagnostic, diag, type Spec } from "@multiarch/spec";
import { publishedNames } from "./bake.ts";
import { publishStages } from "./publish-stages.ts";
import { type Facts, renderImages } from "./render.ts";
import { secretSources } from "./secret-sources.ts";
import { indexCheckStep, loginSteps, publishOrder, publishStep, signatureCheck, signingOf } from "./steps.ts";

export interface PromoteOptions {
  /** Registry names: copy from `from` into `to`; neither: in place, in every registry of each image. */
  from?: string;
  to?: string;
  /** Only these images (default: every published image). */
  images?: readonly string[];
}

export type PromoteResult = { ok: true; plan: Plan; sources: Record<string, string> } | { ok: false; errors: Diagnostic[] };

/** promote does not build: the strategy only says so (publishing is the same for both). */
const STRATEGY: Plan["strategy"] = { requested: "manifest", chosen: "manifest", reason: "promote builds nothing: indexes are copied and tagged by digest" };

/** The key a copy is recorded under between the copy (by digest, no tag) and its verification. */
const promoteTag = (source: string): string => `multiarch-promote-${sha256(source).slice(0, 12)}`;

/**
 * `spec` with the version variable already set to the version promoted (the caller does that). The
 * source of each image is its first tag that is not `latest` (normally `{{version}}`). The plan's paths
 * are relative to the spec's folder.
 */
export function promotePlan(spec: Spec, facts: Facts, opts: PromoteOptions): PromoteResult {
  const at = { file: spec.file, line: 0, col: 0 };
  const errors: Diagnostic[] = [];
  const names = spec.registries.map((r) => r.name);
  const registry = (flag: string, n: string | undefined) => {
    if (n === undefined) return undefined;
    const r = spec.registries.find((x) => x.name === n);
    if (!r) errors.push(diag("selection-unknown", at, `${flag} ${n}: no such registry`, { hint: didYouMean(n, names) ?? `registries: ${names.join(", ")}` }));
    return r;
  };
  if ((opts.from === undefined) !== (opts.to === undefined))
    errors.push(diag("selection-unknown", at, "--from and --to go together", { hint: "--from staging --to production; neither: promote in place" }));
  if (opts.from !== undefined && opts.from === opts.to) errors.push(diag("selection-unknown", at, `--from and --to both name ${opts.from}`));
  const from = registry("--from", opts.from);
  const to = registry("--to", opts.to);
  for (const n of opts.images ?? [])
    if (!spec.images.some((i) => i.name === n))
      errors.push(
        diag("selection-unknown", at, `--image ${n}: no such image`, {
          hint:
            didYouMean(
              n,
              spec.images.map((i) => i.name),
            ) ?? undefined,
        }),
      );
  // tags made from git.* name one build (a commit); promote builds nothing, so it gives none of them
  const images = spec.images
    .filter((i) => i.publish && i.registries.length > 0 && (!opts.images?.length || opts.images.includes(i.name)))
    .map((i) => ({ ...i, tags: i.tags.filter((t) => !t.uses.includes("git")) }));
  if (errors.length) return { ok: false, errors };
  if (images.length === 0)
    return { ok: false, errors: [diag("selection-unknown", at, "no published image to promote (every image is internal or has no registry)")] };

  const { rendered, diagnostics } = renderImages(spec, images, facts);
  const failed = diagnostics.filter((d) => d.severity !== "warning");
  if (failed.length) return { ok: false, errors: failed };

  const planned: PlannedImage[] = [];
  const sources: Record<string, string> = {};
  const verify: Step[] = [];
  const signatures: Step[] = [];
  const copies: Step[] = [];
  const copyChecks: Step[] = [];
  const logins: PlannedImage[] = [];
  for (const r of rendered) {
    const img = r.image;
    const platforms = [...img.platforms];
    const version = r.tags.find((t) => t !== "latest");
    if (!version) {
      errors.push(
        diag("tag-empty", img.at, `image ${img.name}: no tag of this version but latest, so no index to promote`, {
          hint: 'tag each version: tags: ["{{version}}", latest]',
        }),
      );
      continue;
    }
    // --to: each of the image's repositories there, whether or not apply publishes to it (production
    // is often only ever reached by promotion); in place: everywhere apply publishes the image
    const targets = to
      ? img.repositories.map((repo) => ({
          registry: to.name,
          name: repositoryRef(to, repo),
          insecure: to.insecure,
          ...(img.repositories.length > 1 ? { repository: repo } : {}),
        }))
      : publishedNames(spec, img);
    const refs: PlannedRef[] = [];
    const sourceRefs: PlannedRef[] = [];
    for (const n of targets) {
      const repo = n.repository ?? img.repository;
      const source = from ? `${repositoryRef(from, repo)}:${version}` : `${n.name}:${version}`;
      // the source's registry: the one promoted from, or the target's own
      const sourceOf = from ? { registry: from.name, ...(n.repository ? { repository: n.repository } : {}) } : n;
      const sourceInsecure = from ? from.insecure : n.insecure;
      sources[`${img.name}@${refLabel(n)}`] = source;
      const ref: PlannedRef = { ...n, tags: publishOrder(r.tags), staging: from ? `${n.name}:${promoteTag(source)}` : source };
      refs.push(ref);
      if (from) sourceRefs.push({ registry: from.name, name: repositoryRef(from, repo), insecure: sourceInsecure, tags: [], staging: source });
      // built by multiarch (every platform's config has the input hash): a tag pushed by hand under the
      // version's name is not promoted to latest
      verify.push(
        indexCheckStep(refStepId("verify", img.name, sourceOf), img.name, from?.name ?? n.registry, sourceInsecure, {
          ref: source,
          platforms,
          labels: [INPUT_HASH_LABEL],
        }),
      );
      // the source must carry the spec's signature: promote never signs what the release did not
      if (spec.sign)
        signatures.push({
          id: refStepId("verify-signature", img.name, sourceOf),
          kind: "verify",
          image: img.name,
          registry: from?.name ?? n.registry,
          commands: [signatureCheck(spec.sign, { verified: source }, sourceInsecure)],
          inputs: [source],
          produces: [],
        });
      if (from) {
        copies.push({
          id: refStepId("copy", img.name, n),
          kind: "manifest",
          image: img.name,
          registry: n.registry,
          commands: [],
          inputs: [source],
          produces: [ref.staging],
          copy: { from: source, fromInsecure: sourceInsecure, ref: ref.staging, insecure: n.insecure },
        });
        copyChecks.push(
          indexCheckStep(
            refStepId("verify", img.name, n),
            img.name,
            n.registry,
            n.insecure,
            { ref: ref.staging, platforms, sameAs: source },
            { built: ref.staging },
          ),
        );
      }
    }
    const p: PlannedImage = { name: img.name, platforms, dependsOn: [], refs };
    planned.push(p);
    logins.push({ ...p, refs: [...refs, ...sourceRefs] });
  }
  if (errors.length) return { ok: false, errors };
  const signed = spec.sign !== undefined;
  const stages: Stage[] = [
    { name: "login", steps: loginSteps(spec, logins) },
    { name: "verify", steps: verify },
    { name: "signature", steps: signatures },
    { name: "copy", steps: copies },
    { name: "verify-copy", steps: copyChecks },
    // the copy is signed where it now lives, before any tag there moves (in place: the source was signed)
    ...publishStages({ images: planned, sign: from ? spec.sign : undefined, publish: (p, ref) => publishStep(p.name, ref, signed) }),
  ].filter((s) => s.steps.length > 0);
  const signing = signingOf(spec.sign);
  const plan: Plan = {
    version: PLAN_VERSION,
    // relative to the spec's folder, where promote runs it
    spec: basename(spec.file),
    cwd: ".",
    strategy: STRATEGY,
    images: planned,
    stages,
    secrets: secretSources(spec, logins),
    ...(signing ? { signing } : {}),
  };
  return { ok: true, plan, sources };
}
