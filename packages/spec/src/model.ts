// The normalised spec: what every later stage reads. No optionals that have a default, platforms parsed,
// references resolved, every user-written value carrying the position it came from.

import type { Platform } from "@multiarch/plan";
import type { SourcePos } from "./diagnostics.ts";
import type { ImageInput, SpecInput } from "./schema.ts";

export interface Template {
  source: string;
  /** Where it is written; line 0 when --set gave it. */
  at: SourcePos;
  /** The --set IMAGE.KEY=VALUE that gave it, as written. */
  from?: string;
  /** Names the template reads: variable names, "git", "image". */
  uses: string[];
  /** A tag entry { each: VAR }: one tag per item of the list variable `source`. */
  each?: true;
  /** A tag entry { tag, onPrerelease }: whether it moves while the version is a prerelease (default: unless it is latest). */
  onPrerelease?: boolean;
}

export interface Credential {
  env?: string;
  file?: string;
}

export interface Registry {
  name: string;
  url: string;
  host: string;
  namespace: string;
  insecure: boolean;
  username?: Credential;
  password?: Credential;
  at: SourcePos;
}

export interface Variable {
  name: string;
  value?: string;
  env?: string;
  default?: string;
  /** A list variable: its value split at this separator. */
  split?: string;
  /** A map variable, read with lookup. */
  map?: Record<string, string>;
  at: SourcePos;
}

export interface KeyedTemplate {
  key: string;
  value: Template;
}

export type NamedContext =
  | { name: string; kind: "image"; image: string; at: SourcePos }
  | { name: string; kind: "local"; path: string; at: SourcePos }
  | { name: string; kind: "ref"; ref: string; at: SourcePos };

export interface Secret {
  id: string;
  env?: string;
  file?: string;
}

export interface Cache {
  type: "registry" | "local" | "gha";
  /** registry: name of the registry holding the cache. */
  registry?: string;
  /** local: folder relative to the spec folder. */
  dir?: string;
  mode: "min" | "max";
  /** One cache for every image and platform. */
  shared: boolean;
  ignoreError: boolean;
  /** Extra cache-from entries, as written. */
  from: string[];
}

export interface Attest {
  provenance: false | "min" | "max";
  sbom: boolean;
  /** Written in the spec (image, defaults or --set): the manifest strategy attaches only what was asked. */
  asked: boolean;
}

/** What the rules make of an image's fields: defaults filled, parsed, resolved, with positions. */
interface NormalisedImage {
  name: string;
  /** The first repository: image.repository in templates, the cache's home. */
  repository: string;
  /** Every repository the image is pushed to in each of its registries (the first is `repository`). */
  repositories: string[];
  at: SourcePos;
  /** Relative to the spec folder, with forward slashes; "." for the folder itself. */
  context: string;
  /** Relative to the context. */
  dockerfile: string;
  platforms: Platform[];
  registries: string[];
  contexts: NamedContext[];
  args: KeyedTemplate[];
  labels: KeyedTemplate[];
  annotations: KeyedTemplate[];
  secrets: Secret[];
  tags: Template[];
  cache?: Cache;
  attest: Attest;
  /** Images this one builds FROM (image: contexts), by name. */
  dependsOn: string[];
  /** false: internal, built for the images that use it, never given a user tag. */
  publish: boolean;
  /** A matrix combination: the image's key under images:, and matrix key -> value. */
  matrix?: { of: string; values: Record<string, string> };
}

/**
 * An image: its normalised fields, and every other field as written (zod checked it; its type is the
 * schema's), which its rule copies: a plain field of images: is not written here again.
 */
export type Image = NormalisedImage & Omit<ImageInput, keyof NormalisedImage>;

/** Where an image is written: its key under images: (a matrix image's, for each of its combinations). */
export const imageKey = (img: Pick<Image, "name" | "matrix">): string => img.matrix?.of ?? img.name;

/** How published indexes are signed (cosign): with a key pair, or keyless (Sigstore, from CI's OIDC token). */
export type Signing =
  | { mode: "key"; key: Credential; publicKey: Credential; password?: Credential; tlog: boolean; at: SourcePos }
  | { mode: "keyless"; issuer: string; identity: string; at: SourcePos };

export interface Group {
  name: string;
  images: string[];
  at: SourcePos;
}

export interface Spec {
  /** Absolute path of the spec file, its folder, and the repository root that paths may not leave. */
  file: string;
  dir: string;
  root: string;
  registries: Registry[];
  variables: Variable[];
  /** Dependency order: every image comes after the images it builds FROM. */
  images: Image[];
  groups: Group[];
  /** Absent: nothing is signed. */
  sign?: Signing;
  build: Build;
}

/** build: as the rules make it: defaults filled, the builder split into a name and nodes. */
interface NormalisedBuild {
  strategy: "auto" | "bake" | "manifest";
  builder?: string;
  nodes?: BuilderNodes;
  ociLabels: boolean;
}
/** build: its normalised fields, and every other as written (its type is the schema's). */
export type Build = NormalisedBuild & Omit<NonNullable<SpecInput["build"]>, keyof NormalisedBuild>;

/** A multi-node builder the spec defines (build.builder as a mapping): one node per platform group. */
export interface BuilderNodes {
  driver: "docker-container" | "remote" | "kubernetes";
  nodes: { name: string; platforms: Platform[]; endpoint?: string; driverOpts: Record<string, string> }[];
  at: SourcePos;
}

export const DEFAULT_PLATFORMS: readonly Platform[] = ["linux/amd64", "linux/arm64"];
export const DEFAULT_TAGS = ["latest"] as const;
