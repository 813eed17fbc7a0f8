// Steps both strategies share: registry login, verification of the pushed index, smoke tests, and
// the names of things (staging tags, per-arch staging keys, step ids).
import {
  type Arg,
  type Built,
  type Command,
  imageStepId,
  loginStepId,
  type Plan,
  type PlannedImage,
  type PlannedRef,
  type Platform,
  perArchTag,
  refStepId,
  type Step,
  sha256,
  testStepId,
  valueRef,
} from "@multiarch/plan";
import type { Credential, Image, Signing, Spec } from "@multiarch/spec";
import { type BakeTarget, publishedNames } from "./bake.ts";
import type { RenderedImage } from "./render.ts";

export const docker = (args: Command["args"], extra: Omit<Command, "program" | "args"> = {}): Command => ({ program: "docker", args, ...extra });

/**
 * The staging key: under which a run records what it pushed, by digest, before verification (written as
 * a tag only by the legacy builder, which cannot push by digest). Derived from the build definition and the
 * git commit, so re-running the same plan reuses it (one staging tag per image and input set, not one
 * per run) and plans stay byte-identical; two commits never share one. Runs that still collide (one
 * commit, applied twice at once) are told apart by digest: everything after the push reads what this
 * run pushed, by digest, never the tag.
 */
export function stagingTag(target: BakeTarget | undefined, image: Image, rendered: RenderedImage, gitSha: string | undefined): string {
  // Key order of a target is fixed by buildBakeFile, so plain JSON is a stable input.
  const h = sha256(JSON.stringify([target ?? null, image.name, rendered.tags, gitSha ?? ""]));
  return `multiarch-staging-${h.slice(0, 12)}`;
}

/**
 * An output option writing an OCI layout folder into the run's folder (`prefix` names the option: bake's
 * `TARGET.output=`, or nothing for `docker build --output`). Layouts, unlike image outputs on buildx's
 * docker driver, take rewrite-timestamp; nothing lands in the engine's image store.
 */
export const layoutOutput = (prefix: string, dir: string, rewriteTimestamp: boolean): Arg => ({
  runFile: dir,
  prefix: `${prefix}type=oci,tar=false${rewriteTimestamp ? ",rewrite-timestamp=true" : ""},dest=`,
});

/** The executor pushes a layout the build wrote, by digest (no tag), recording it under `key`. */
export const layoutPushStep = (image: string, to: PlannedRef, key: string, dir: string, platform?: Platform): Step => ({
  id: refStepId("push", image, to, platform),
  kind: "push",
  image,
  registry: to.registry,
  ...(platform ? { platform } : {}),
  commands: [],
  inputs: [key],
  produces: [key],
  layout: { dir, ref: key, insecure: to.insecure },
});

/** latest last, so a tag that "always points at the newest" moves only after the specific ones. */
export const publishOrder = (tags: readonly string[]): string[] => [...tags.filter((t) => t !== "latest"), ...tags.filter((t) => t === "latest")];

export function plannedRefs(spec: Spec, r: RenderedImage, staging: string): PlannedRef[] {
  return publishedNames(spec, r.image).map((n) => ({
    registry: n.registry,
    name: n.name,
    ...(n.repository ? { repository: n.repository } : {}),
    insecure: n.insecure,
    tags: publishOrder(r.tags),
    staging: `${n.name}:${staging}`,
  }));
}

export function loginSteps(spec: Spec, images: readonly PlannedImage[]): Step[] {
  const used = new Set(images.flatMap((i) => i.refs.map((r) => r.registry)));
  return spec.registries.flatMap(({ name, host, username, password }): Step[] =>
    used.has(name) && username && password
      ? [
          {
            id: loginStepId(name),
            kind: "login",
            registry: name,
            commands: [docker(["login", host, "--username", valueRef(username), "--password-stdin"], { stdin: valueRef(password) })],
            inputs: [],
            produces: [`credentials:${host}`],
            skipIfLoggedIn: host,
          },
        ]
      : [],
  );
}

/** How a verify step reads an index: in-process, with the registry client (no docker process per check). */
export const readIndex = (ref: string | Built, insecure: boolean): Pick<Step, "commands" | "read"> => ({ commands: [], read: { ref, insecure } });

/**
 * Verification of the index a ref names (merge, promote): exactly `expect.platforms`, and what else
 * `expect` asks; later steps use the digest it saw, never the ref again.
 */
export const indexCheckStep = (
  id: string,
  image: string,
  registry: string,
  insecure: boolean,
  expect: Extract<NonNullable<Step["expect"]>, { ref: string }>,
  /** What is inspected: the ref's tag, or what this run pushed under it by digest. */
  inspected: string | Built = expect.ref,
): Step => ({ id, kind: "verify", image, registry, ...readIndex(inspected, insecure), inputs: [expect.ref], produces: [], expect });

export function verifySteps(images: readonly PlannedImage[]): Step[] {
  return images.flatMap((img): Step[] =>
    img.archive
      ? [
          {
            id: imageStepId("verify", img.name),
            kind: "verify",
            image: img.name,
            commands: [],
            inputs: [img.archive],
            produces: [],
            expect: { archive: img.archive, platforms: img.platforms },
          },
        ]
      : img.refs.map((ref) => ({
          id: refStepId("verify", img.name, ref),
          kind: "verify",
          image: img.name,
          registry: ref.registry,
          // by the digest this run pushed (a concurrent run may have moved the staging tag since), or
          // the published index of these inputs that this run reuses
          ...readIndex(img.reuse?.[ref.name] ? `${ref.name}@${img.reuse[ref.name]}` : { built: ref.staging }, ref.insecure),
          inputs: [ref.staging],
          produces: [],
          expect: { ref: ref.staging, platforms: img.platforms, ...(img.indexAnnotations ? { annotations: img.indexAnnotations } : {}) },
        })),
  );
}

/**
 * Runs each image's test on every platform, from the first registry (what users will pull); an archive's
 * from the engine, where it is loaded first (never pulled: the name is the archive's, not a registry's).
 * --init: a stopped run's SIGTERM reaches the test through docker's init, so its container ends (and
 * --rm removes it); the test's own process as PID 1 would ignore it and run on.
 */
export function testSteps(images: readonly PlannedImage[]): Step[] {
  return images.flatMap((img): Step[] => {
    const ref = img.refs[0];
    if (img.test && img.archive && img.archiveName) {
      const { archive, archiveName, test } = img;
      return img.platforms.map((p) => ({
        id: testStepId(img.name, p),
        kind: "test",
        image: img.name,
        platform: p,
        commands: [
          docker(["load", "--input", archive]),
          docker(["run", "--rm", "--init", "--quiet", "--pull", "never", "--platform", p, archiveName, ...test]),
        ],
        inputs: [archive],
        produces: [],
      }));
    }
    if (!img.test || !ref) return [];
    return img.platforms.map((p) => ({
      id: testStepId(img.name, p),
      kind: "test",
      image: img.name,
      platform: p,
      commands: [docker(["run", "--rm", "--init", "--quiet", "--pull", "always", "--platform", p, { built: ref.staging }, ...img.test!])],
      inputs: [ref.staging],
      produces: [],
    }));
  });
}

/** How a build secret is passed to buildx (bake's `secret` and `docker build --secret` share the form). */

/**
 * publish: the user tags of a ref already hold the verified images when every one inspects the same;
 * once signed, only the very index that was signed counts.
 */
/** A ref's user tags moved in-process to its verified index, in order (latest last). */
export const moveTags = (ref: PlannedRef, signed = false): NonNullable<Step["moveTags"]> => ({
  staging: ref.staging,
  tags: ref.tags.map((t) => `${ref.name}:${t}`),
  insecure: ref.insecure,
  ...(signed ? { signed: true } : {}),
});

// cosign names a key as a path, or env://NAME for a key held in a variable: never the key itself.
const keyArg = (c: Credential): string => (c.env ? `env://${c.env}` : c.file!);
const cosign = (args: Command["args"], extra: Omit<Command, "program" | "args"> = {}): Command => ({ program: "cosign", args, ...extra });
/** The key's password reaches cosign alone, in its environment; without one an empty one, so cosign never prompts. */
const passwordOf = (sign: Extract<Signing, { mode: "key" }>): NonNullable<Command["setEnv"]> => ({
  COSIGN_PASSWORD: sign.password ? valueRef(sign.password) : "",
});

/** cosign verify of an index by digest: the spec's public key (or keyless identity) signed it. */
export function signatureCheck(sign: Signing, ref: Arg, insecure: boolean): Command {
  const registry = insecure ? ["--allow-insecure-registry"] : [];
  return sign.mode === "keyless"
    ? cosign(["verify", "--certificate-identity-regexp", sign.identity, "--certificate-oidc-issuer", sign.issuer, ...registry, ref])
    : cosign(["verify", "--key", keyArg(sign.publicKey), ...(sign.tlog ? [] : ["--insecure-ignore-tlog"]), ...registry, ref]);
}

/**
 * Signing each index about to be published, by the digest verification saw, before any user tag moves;
 * then the signature is checked. An index that already carries a signature the key verifies is left as
 * it is. The key's password reaches cosign alone, as COSIGN_PASSWORD (empty without one: cosign never
 * prompts).
 */
export function signSteps(sign: Signing, images: readonly PlannedImage[]): Step[] {
  return images
    .filter((img) => !img.notPublished && !img.archive)
    .flatMap((img) =>
      img.refs.map((ref): Step => {
        const index: Arg = { verified: ref.staging };
        const registry = ref.insecure ? ["--allow-insecure-registry"] : [];
        const signCommand =
          sign.mode === "keyless"
            ? cosign(["sign", "--yes", ...registry, index])
            : cosign(["sign", "--yes", "--key", keyArg(sign.key), ...(sign.tlog ? [] : ["--tlog-upload=false"]), ...registry, index], {
                setEnv: passwordOf(sign),
              });
        const check = signatureCheck(sign, index, ref.insecure);
        return {
          id: refStepId("sign", img.name, ref),
          kind: "sign",
          image: img.name,
          registry: ref.registry,
          commands: [signCommand, check],
          doneIf: check,
          signs: ref.staging,
          inputs: [ref.staging],
          produces: [`${ref.name}:<signature of ${ref.staging}>`],
        };
      }),
    );
}

/**
 * What a plan says about signing, for whoever runs it (a CI workflow needs an OIDC token for keyless); with
 * a key, how to check before building that the key opens with its password and is the public key's pair.
 */
export const signingOf = (sign: Signing | undefined): Plan["signing"] =>
  !sign
    ? undefined
    : sign.mode === "keyless"
      ? { mode: "keyless", tlog: true }
      : {
          mode: "key",
          tlog: sign.tlog,
          keyPair: { publicKeyOf: cosign(["public-key", "--key", keyArg(sign.key)], { setEnv: passwordOf(sign) }), publicKey: valueRef(sign.publicKey) },
        };

/**
 * A shard's checks: each per-arch image it pushed must be that platform (by the digest it pushed), and
 * the image's test runs there. The merge checks the whole index again.
 */
export function archCheckSteps(images: readonly PlannedImage[], platform: Platform): Step[] {
  const p = platform;
  return images.flatMap((img): Step[] => {
    if (!img.platforms.includes(p)) return [];
    const verify = img.refs.map(
      (ref): Step => ({
        id: refStepId("verify", img.name, ref, p),
        kind: "verify",
        image: img.name,
        registry: ref.registry,
        platform: p,
        ...readIndex({ built: perArchTag(ref.staging, platform) }, ref.insecure),
        inputs: [perArchTag(ref.staging, platform)],
        produces: [],
        expect: { ref: perArchTag(ref.staging, platform), platforms: [p] },
      }),
    );
    const first = img.refs[0];
    const test: Step[] =
      img.test && first
        ? [
            {
              id: testStepId(img.name, p),
              kind: "test",
              image: img.name,
              platform: p,
              commands: [
                docker(["run", "--rm", "--init", "--quiet", "--pull", "always", "--platform", p, { built: perArchTag(first.staging, platform) }, ...img.test]),
              ],
              inputs: [perArchTag(first.staging, platform)],
              produces: [],
            },
          ]
        : [];
    return [...verify, ...test];
  });
}

/**
 * Publishing one repository's tags from the verified index: one tag at a time, in order (latest last),
 * so a registry failing half-way leaves the later, broader tags where they were; each tag moves to the
 * complete, verified index or not at all. In-process: a manifest PUT per tag, where a docker CLI
 * process (imagetools create) cost 0.1-0.2 s a tag.
 */
export const publishStep = (image: string, ref: PlannedRef, signed = false): Step => ({
  id: refStepId("publish", image, ref),
  kind: "publish",
  image,
  registry: ref.registry,
  commands: [],
  moveTags: moveTags(ref, signed),
  inputs: [ref.staging],
  produces: ref.tags.map((t) => `${ref.name}:${t}`),
});
