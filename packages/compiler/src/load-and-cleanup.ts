// The steps after verification that are no part of either strategy: --load pulls (or loads) the images
// into the engine, and clean-up removes what the run left in it.
import { CLEANUP_LOCAL_STAGING, CLEANUP_TESTED, imageStepId, type PlannedImage, type Platform, perArchTag, type Step } from "@multiarch/plan";
import type { BakeFile } from "./bake.ts";
import { docker } from "./steps.ts";

/**
 * --load with registries: pull the verified image of the engine's own platform and tag it like the first
 * user tag. An archive is loaded; one named under checkNamespace (--no-push) takes its `renames` (check name,
 * own name), after its tests passed, and its check names go.
 */
export function loadSteps(
  images: readonly PlannedImage[],
  hostPlatform: string | undefined,
  renames: ReadonlyMap<string, readonly (readonly [string, string])[]> = new Map(),
): Step[] {
  return images.flatMap((p): Step[] => {
    if (p.archive) {
      const names = renames.get(p.name) ?? [];
      const commands = [
        docker(["load", "--input", p.archive]),
        ...names.map(([check, own]) => docker(["tag", check, own])),
        ...(names.length ? [docker(["image", "rm", ...names.map(([check]) => check)])] : []),
      ];
      return [{ id: imageStepId("load", p.name), kind: "load", image: p.name, commands, inputs: [p.archive], produces: names.map(([, own]) => own) }];
    }
    const ref = p.refs[0];
    const platform = p.platforms.find((x) => x === hostPlatform) ?? p.platforms[0];
    if (!ref || !platform) return [];
    const local = `${ref.name}:${ref.tags[0] ?? "latest"}`;
    return [
      {
        id: imageStepId("load", p.name),
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
 * After publishing (or a run that stopped before), the legacy builder's local staging images are removed,
 * and the run waits for it: removed in the background, the image was found by the next run's build of
 * the same content (the builder's cache) and gone before it was tagged again, which failed that build.
 * (Every other path builds into OCI layouts in the run's folder and leaves nothing in the engine.) With `platform`, a per-arch plan's: what it built of that
 * platform, pushed for the merge, which reads it from the registry.
 */
export function legacyCleanup(images: readonly PlannedImage[], legacy: boolean, platform?: Platform): Step[] {
  if (!legacy) return [];
  const refs = images
    .filter((p) => !p.notPublished && (!platform || p.platforms.includes(platform)))
    .flatMap((p) => p.refs.flatMap((r) => (platform ? [platform] : p.platforms).map((pl) => perArchTag(r.staging, pl))));
  return refs.length
    ? [
        {
          id: CLEANUP_LOCAL_STAGING,
          kind: "cleanup",
          commands: [docker(["image", "rm", ...refs], { mayFail: true })],
          inputs: refs,
          produces: [],
        },
      ]
    : [];
}

/**
 * The images smoke tests pulled (by digest) leave the engine again, in the background, whatever the run's
 * outcome. Forced, as a container of a test an interrupt cut off may still be ending: still only this
 * run's name@digest of the image goes, never another name of it. With
 * `platform`, a per-arch plan's: its tests pulled that platform's image, pushed under its per-arch key.
 */
export function testCleanup(images: readonly PlannedImage[], platform?: Platform, loaded: readonly string[] = []): Step[] {
  const tested = images
    .filter((p) => p.test && !p.reuse && p.refs[0] && (!platform || p.platforms.includes(platform)))
    .map((p) => (platform ? perArchTag(p.refs[0]!.staging, platform) : p.refs[0]!.staging));
  return tested.length || loaded.length
    ? [
        {
          id: CLEANUP_TESTED,
          kind: "cleanup",
          commands: [docker(["image", "rm", "--force", ...tested.map((built) => ({ built })), ...loaded], { mayFail: true, detach: true })],
          inputs: tested,
          produces: [],
        },
      ]
    : [];
}

/**
 * The names apply --no-push's archives load under for their tests (every tag of the archive): they are
 * checkNamespace's, never a name the engine had before, and go again after the tests.
 */
export const checkArchiveNames = (images: readonly PlannedImage[], bake: BakeFile): string[] =>
  images.filter((p) => p.archiveName && p.test && !p.reuse).flatMap((p) => bake.target[p.name]?.tags ?? []);
