// Every step id, built in one place: the compiler names steps with these, and whoever looks a step up in
// a report (a shard reading its verification) builds the same id here, never by hand. An id is
// KIND:IMAGE, @REF-LABEL for one repository (refLabel), /PLATFORM for one platform's share.
import type { Platform } from "./platform.ts";
import { platformSlug } from "./platform.ts";
import { refLabel } from "./format.ts";
import type { PlannedRef } from "./schema.ts";

type PerRef = "push" | "verify" | "manifest" | "merge" | "sign" | "publish" | "verify-signature" | "copy";

/** A step of one image and repository (push:api@ghcr/acme/api), or that platform's share of it (…/linux/arm64). */
export const refStepId = (kind: PerRef, image: string, ref: Pick<PlannedRef, "registry" | "repository">, platform?: Platform): string =>
  `${kind}:${image}@${refLabel(ref)}${platform ? `/${platform}` : ""}`;

/** A step of one image on one platform: a smoke test (test:api/linux/arm64). */
export const testStepId = (image: string, platform: Platform): string => `test:${image}/${platform}`;

/** One image's build for one platform (manifest strategy): build:api/linux-arm64. */
export const buildStepId = (image: string, platform: Platform): string => `build:${image}/${platformSlug(platform)}`;

/** A bake run: the only one, batch N of several, or one platform's share (bake:linux-arm64). */
export const bakeStepId = (batch?: number | Platform): string =>
  batch === undefined ? "bake" : typeof batch === "number" ? `bake:${batch}` : `bake:${platformSlug(batch)}`;

/** Steps of one image alone: its archive's verification (verify:api), its load into the engine (load:api). */
export const imageStepId = (kind: "verify" | "load", image: string): string => `${kind}:${image}`;

/** The legacy builder's push of one per-arch staging tag (push:NAME:TAG). */
export const tagPushStepId = (ref: string): string => `push:${ref}`;

export const loginStepId = (registry: string): string => `login:${registry}`;

export const CLEANUP_LOCAL_STAGING = "cleanup:local-staging";
export const CLEANUP_TESTED = "cleanup:tested";
