// Input hashes and what they decide. An image's input hash covers everything its build reads: the
// Dockerfile, the context's files (after .dockerignore), named contexts, the build definition (target,
// rendered args, labels, annotations, platforms, attestations, secret ids, strategy, who signs), the digests its external FROM
// images resolve to, and the input hashes of the images it builds FROM (a Merkle chain). Pure: the
// facts are gathered elsewhere (executor/input-facts.ts, the registry); this only hashes and compares.
import { posix } from "node:path";
import { type ImageInputFacts, PLAN_VERSION, type PlannedImage, type PublishedTag, type Strategy, sha256 } from "@multiarch/plan";
import { type Diagnostic, diag, type Image } from "@multiarch/spec";
import { buildOptions } from "./build-options.ts";
import type { RenderedImage } from "./render.ts";

const sha = (v: unknown): string => sha256(typeof v === "string" ? v : JSON.stringify(v));

export interface ImageHash {
  hash: string;
  parts: Record<string, string>;
  /** Why the inputs cannot be known (a base that could not be read): such an image is always built. */
  unknown?: string;
  /** The external bases as hashed (REF@DIGEST): named when they changed. */
  bases: string[];
}

/**
 * Hashes in dependency order (rendered comes in spec order, bases first). `signing`: who signs (the
 * public key or keyless identity); part of what a tag promises, so turning signing on or changing the
 * key publishes every image again, signed. Absent, the hash is what it was before signing existed.
 */
export function inputHashes(
  rendered: readonly RenderedImage[],
  inputs: Readonly<Record<string, ImageInputFacts>>,
  strategy: Strategy,
  signing?: string,
  /** The platforms an image is hashed with, when not the ones it is built for here (see compile). */
  platformsOf: (img: RenderedImage["image"]) => readonly string[] = (img) => img.platforms,
): Map<string, ImageHash> {
  const out = new Map<string, ImageHash>();
  for (const r of rendered) {
    const img = r.image;
    const facts = inputs[img.name];
    if (!facts) continue;
    const contexts: Record<string, string> = {};
    // an OCI layout's ref comes with what its folder holds (its facts), a URL's alone
    for (const c of img.contexts) {
      contexts[c.name] =
        c.kind === "image"
          ? `image:${out.get(c.image)?.hash ?? "unknown"}`
          : c.kind === "local"
            ? `local:${facts.contexts[c.name] ?? ""}`
            : `ref:${c.ref}${facts.contexts[c.name] ? `:${facts.contexts[c.name]}` : ""}`;
    }
    const build = {
      dockerfile: `${img.context}/${img.dockerfile}`,
      // every build option; target always (empty when unset), as before the others existed, and the
      // others only when set, so the hashes of images without them stay what they were
      target: "",
      ...buildOptions(img),
      args: r.args,
      labels: r.labels,
      annotations: r.annotations,
      // only when set, so the hashes of images without them stay what they were
      ...(r.indexAnnotations ? { indexAnnotations: r.indexAnnotations } : {}),
      platforms: platformsOf(img),
      // the attestations published beside the image; only when not the default (provenance min, no SBOM)
      ...(img.attest.provenance !== "min" || img.attest.sbom ? { attest: [img.attest.provenance, img.attest.sbom] } : {}),
      secrets: img.secrets.map((s) => s.id),
      strategy: [strategy.chosen, strategy.legacyBuilder ? "legacy" : ""],
      ...(signing ? { signing } : {}),
      // the smoke test the published index passed: a new or changed one runs again (only when set, as above)
      ...(img.test ? { test: img.test.run } : {}),
    };
    const bases = facts.bases.map((b) => `${b.ref}@${b.digest ?? "?"}`);
    const parts: Record<string, string> = {
      dockerfile: facts.dockerfile,
      context: facts.context,
      contexts: sha(contexts),
      build: sha(build),
      bases: sha(bases),
    };
    const failed = facts.bases.find((b) => !b.digest);
    const depUnknown = img.dependsOn.find((d) => out.get(d)?.unknown);
    const unknown = failed
      ? `base ${failed.ref || "(empty)"} (${failed.line ? `Dockerfile line ${failed.line}` : "a docker-image:// context"}) could not be read: ${failed.error ?? "no digest"}`
      : depUnknown
        ? `it builds FROM ${depUnknown}, whose inputs are unknown`
        : undefined;
    out.set(img.name, { hash: sha({ version: PLAN_VERSION, parts }), parts, bases, ...(unknown ? { unknown } : {}) });
  }
  return out;
}

/**
 * A requested platform its external base image does not offer: found before any build, with the
 * Dockerfile line, the base, what it has, and the choices. FROM --platform=… is pulled for that platform.
 */
export function basePlatformProblems(images: readonly Image[], inputs: Readonly<Record<string, ImageInputFacts>>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const img of images) {
    for (const base of inputs[img.name]?.bases ?? []) {
      if (base.pinned || !base.platforms) continue;
      const missing = img.platforms.filter((p) => !base.platforms!.includes(p));
      if (missing.length === 0) continue;
      out.push(
        diag(
          "base-platform-missing",
          img.at,
          `image ${img.name}: ${posix.join(img.context, img.dockerfile)}:${base.line} FROM ${base.ref} has no ${missing.join(", ")} (it has ${base.platforms.join(", ")})`,
          { hint: `drop ${missing.join(", ")} from the image's platforms, or pick a base that has ${missing.length === 1 ? "it" : "them"}` },
        ),
      );
    }
  }
  return out;
}

export type Decision = { kind: "build"; changed: string[] } | { kind: "up-to-date"; digest: string } | { kind: "reuse"; digests: Record<string, string> };

/**
 * What to do with an image, given what its user tags hold now: nothing (every tag already holds an
 * index from these inputs with every planned platform), publish an index from these inputs that one of
 * its tags holds (a new tag on unchanged inputs), or build; then which inputs changed.
 */
export function decide(image: PlannedImage, hash: ImageHash, published: Readonly<Record<string, PublishedTag | null>>): Decision {
  const planned = [...image.platforms].sort().join(",");
  const holds = (t: PublishedTag | null | undefined): t is PublishedTag => !!t && t.inputHash === hash.hash && [...t.platforms].sort().join(",") === planned;
  const tags = image.refs.flatMap((r) => r.tags.map((t) => published[`${r.name}:${t}`]));
  if (!hash.unknown && tags.length > 0 && tags.every(holds)) return { kind: "up-to-date", digest: tags[0]!.digest };
  if (!hash.unknown && image.refs.length > 0) {
    const digests: Record<string, string> = {};
    for (const r of image.refs) {
      const found = r.tags.map((t) => published[`${r.name}:${t}`]).find(holds);
      if (found) digests[r.name] = found.digest;
    }
    if (Object.keys(digests).length === image.refs.length) return { kind: "reuse", digests };
  }
  if (hash.unknown) return { kind: "build", changed: [hash.unknown] };
  const before = tags.find((t) => t?.inputParts)?.inputParts;
  // absent: the registry did not answer for it (null: it answered that there is none)
  if (tags.includes(undefined)) return { kind: "build", changed: ["a tag could not be read (see the warnings)"] };
  if (!tags.some(Boolean)) return { kind: "build", changed: ["not published yet"] };
  if (!before) return { kind: "build", changed: ["the tags hold an image without recorded inputs"] };
  // which base moved is not recorded, only the hash of them all: the ones compared are named, by what
  // they hold now (references one can pull)
  const named = (part: string) => (part === "bases" && hash.bases.length ? `bases (now ${hash.bases.join(", ")})` : part);
  const changed = Object.entries(hash.parts)
    .filter(([k, v]) => before[k] !== v.slice(0, 12))
    .map(([k]) => named(k));
  const platformsDiffer = tags.some((t) => t && [...t.platforms].sort().join(",") !== planned);
  return {
    kind: "build",
    changed: [...changed, ...(platformsDiffer ? ["platforms"] : []), ...(changed.length || platformsDiffer ? [] : ["a tag holds another index"])],
  };
}
