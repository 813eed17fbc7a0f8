// What users write in multiarch.yaml. Strict objects everywhere: an unknown key is a mistake, never ignored.
// Semantic checks (platform grammar, references, templates, paths) live in normalize.ts, which knows positions.
import type * as Zod from "zod";
import type { z } from "zod";

// Built on first use, zod loaded then too (require: synchronous; the bundle inlines it): building it
// costs more than reading a spec, and specs of the usual shape are checked without it (fast-shape.ts);
// zod checks the rest and explains what is wrong.
let built: ReturnType<typeof build> | undefined;
export const specInputSchema = (): ReturnType<typeof build> => (built ??= build());

/** The zod this package builds its schema with (json-schema.ts converts with the same one). */
export const zod = (): typeof Zod => require("zod") as typeof Zod;

function build() {
  const { z } = zod();
  const template = (what: string) => z.string().describe(`${what}. A handlebars template over variables and git.*/image.* built-ins; always a string.`);

  const envRef = z
    .strictObject({ env: z.string().min(1).describe("Name of the environment variable holding the value.") })
    .describe("A value read from the environment when it is used, never stored.");
  const fileRef = z.strictObject({ file: z.string().min(1).describe("Path of a file holding the value, relative to the spec.") });
  const credential = z.union([envRef, fileRef]).describe("A credential reference: { env: NAME } or { file: PATH }. Literal values are rejected.");

  const sign = z
    .strictObject({
      key: credential
        .optional()
        .describe(
          "The cosign private key: { file: cosign.key } (a path relative to the spec) or { env: NAME } (the key's PEM text); passed to cosign as a path or env://NAME, never as a value.",
        ),
      password: credential.optional().describe("The key's password, given to cosign as COSIGN_PASSWORD in its own environment only. Default: none (empty)."),
      publicKey: credential
        .optional()
        .describe("The public key signatures are verified with. Default: the key file with .pub for .key (cosign generate-key-pair writes both)."),
      tlog: z
        .boolean()
        .optional()
        .describe("Upload each signature to the transparency log (Rekor) and check it there. Default false with a key (offline, private registries)."),
      keyless: z
        .strictObject({
          issuer: z.string().min(1).describe("OIDC issuer of the signing identity, e.g. https://token.actions.githubusercontent.com."),
          identity: z
            .string()
            .min(1)
            .describe("Regular expression the certificate's identity must match, e.g. ^https://github.com/acme/app/.github/workflows/.*@refs/heads/main$."),
        })
        .optional()
        .describe("Keyless signing (Sigstore: a CI's OIDC token, Fulcio certificate, Rekor log) instead of a key; CI workflows get id-token: write."),
    })
    .describe("Sign every published index with cosign, by digest, after verification and before any user tag moves.");

  const platforms = z
    .union([
      z.array(z.string()).min(1, "list at least one platform"),
      z.string().describe('"{{NAME}}" of a list variable (split:) holding the platforms, e.g. PLATFORMS=linux/amd64,linux/arm64.'),
    ])
    .describe("Platforms as os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7.");

  const cache = z
    .strictObject({
      type: z.enum(["registry", "local", "gha"]).describe("registry: a cache image per platform in a registry; local: a folder; gha: GitHub Actions cache."),
      registry: z
        .string()
        .optional()
        .describe("type registry: name of the registry (from registries) that stores the cache; default: the image's first registry."),
      dir: z.string().optional().describe("type local: folder for the cache, relative to the spec; default .multiarch/cache."),
      mode: z.enum(["min", "max"]).optional().describe("min caches the final stage only; max every stage. Default max."),
      shared: z.boolean().optional().describe("One cache for every image and platform (registry: REGISTRY/buildcache:shared) instead of one each."),
      ignoreError: z.boolean().optional().describe("A cache that cannot be written does not fail the build (cache-to ignore-error=true)."),
      from: z.array(z.string()).optional().describe("More caches to read, as buildx writes them, e.g. type=registry,ref=ghcr.io/acme/app:buildcache-main."),
    })
    .describe("Build cache. One cache per image and platform, so platforms never overwrite each other's cache.");

  const attest = z
    .strictObject({
      provenance: z
        .union([z.literal(false), z.enum(["min", "max"])])
        .optional()
        .describe("Provenance attestation: min (default), max, or false."),
      sbom: z.boolean().optional().describe("Attach an SBOM attestation. Default false."),
    })
    .describe(
      "Attestations attached to pushed images. Without attest: the manifest strategy attaches none; with it, both strategies do (the manifest strategy needs buildx and an engine that stores them: the containerd image store, or a builder other than docker).",
    );

  const secret = z
    .strictObject({
      id: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/, "secret ids use letters, digits, . _ -")
        .describe("Id used in RUN --mount=type=secret,id=..."),
      env: z.string().optional().describe("Environment variable the value comes from."),
      file: z.string().optional().describe("File the value comes from, relative to the spec."),
    })
    .describe("A build secret. Only its id and source are written anywhere, never its value.");

  const smokeTest = z
    .strictObject({
      run: z.array(z.string()).min(1).describe('Command run in the image on every platform after it is built, e.g. [/bin/sh, -c, "uname -m"].'),
    })
    .describe("Smoke test run on every platform (under QEMU for foreign ones).");

  const stringMap = (what: string) => z.record(z.string(), template(what));

  const eachTag = z
    .strictObject({ each: z.string().describe("A list variable (one with split:): one tag per item; empty items are skipped.") })
    .describe("One tag per item of a list variable.");

  const releaseTag = z
    .strictObject({
      tag: template("A tag"),
      onPrerelease: z
        .boolean()
        .describe(
          "Whether the tag moves while the version is a prerelease (2.0.0-rc.1). Default: every tag but latest. false makes a floating tag (slim, stable) release-only; true lets a prerelease move latest.",
        ),
    })
    .describe("A tag with its prerelease rule, e.g. { tag: latest, onPrerelease: true } or { tag: slim, onPrerelease: false }.");

  const imageFields = {
    tags: z
      .array(z.union([template("A tag"), eachTag, releaseTag]))
      .min(1, "list at least one tag")
      .optional()
      .describe("Tags pushed to every registry of the image. A tag that renders empty is dropped for that run."),
    registries: z.array(z.string()).optional().describe("Names of registries to push to; default: every registry."),
    platforms: platforms.optional(),
    args: stringMap("Build arg value").optional().describe("Build args (ARG). Secrets belong in secrets:, never here."),
    labels: stringMap("Label value").optional().describe("Image labels."),
    annotations: stringMap("Annotation value")
      .optional()
      .describe(
        'OCI annotations. A plain key goes on each image manifest; "index:KEY" on the multi-platform index (GHCR reads a multi-arch image\'s description there), "index,manifest:KEY" on both.',
      ),
    cache: cache.optional(),
    attest: attest.optional(),
  };

  const image = z
    .strictObject({
      name: z
        .string()
        .optional()
        .describe('With matrix: the name of each combination, e.g. "server-{{matrix.os}}". Default: the key and the values joined by -.'),
      matrix: z
        .record(z.string(), z.array(z.string()).min(1))
        .optional()
        .describe("One image per combination of these values; {{matrix.KEY}} in any field of the image stands for a combination's value."),
      publish: z.boolean().optional().describe("false: an internal image, built for the images that use it (image: contexts), never given a user tag."),
      context: z.string().describe("Build context folder, relative to the spec file."),
      dockerfile: z.string().optional().describe("Dockerfile path relative to the context. Default Dockerfile."),
      target: z.string().optional().describe("Dockerfile stage to build."),
      repository: z
        .union([z.string(), z.array(z.string()).min(1)])
        .optional()
        .describe(
          "Repository name under each registry's namespace; may use variables. Default: the image name. Images may share one when their tags differ. A list: the image goes to each (same tags).",
        ),
      contexts: z
        .record(z.string(), z.string())
        .optional()
        .describe("Named build contexts: image:<name> (an image of this spec, built first), a folder, or docker-image://ref."),
      secrets: z.array(secret).optional().describe("Build secrets, mounted with RUN --mount=type=secret,id=ID; values never written anywhere."),
      test: smokeTest.optional(),
      ...imageFields,
    })
    .describe("One image, built for every platform it lists.");

  return z
    .strictObject({
      $schema: z.string().optional().describe("JSON Schema reference for editors."),
      version: z.literal(1).describe("Spec language version. Always 1."),
      platforms: platforms.optional().describe("Default platforms for every image. Default [linux/amd64, linux/arm64]."),
      registries: z
        .record(
          z.string(),
          z.strictObject({
            url: z.string().describe('host[:port][/namespace...], e.g. ghcr.io/acme or 127.0.0.1:5000/acme; may use variables: "{{registry}}".'),
            insecure: z.boolean().optional().describe("Plain HTTP. Explicit opt-in only."),
            username: credential.optional(),
            password: credential.optional(),
          }),
        )
        .optional()
        .describe("Registries by name. Without any, images are written as OCI archives under the output folder."),
      variables: z
        .record(
          z.string(),
          z.union([
            z.string(),
            z.strictObject({
              env: z.string().describe("Environment variable to read at plan time."),
              default: z.string().optional().describe("Value when the variable is unset."),
              split: z
                .string()
                .min(1)
                .optional()
                .describe('A list variable: the value split at this separator (items trimmed, empty ones dropped), for tags: [{ each: NAME }]. E.g. ",".'),
            }),
            z
              .strictObject({ map: z.record(z.string(), z.string()).describe("Key -> value, read with {{lookup NAME KEY}} or {{lookup NAME KEY FALLBACK}}.") })
              .describe("A map variable."),
          ]),
        )
        .optional()
        .describe("Template variables: a literal string, { env, default[, split] }, or { map }."),
      defaults: z
        .strictObject(imageFields)
        .optional()
        .describe("Applied to every image unless the image sets the field; args, labels and annotations are merged (the image's keys win)."),
      groups: z
        .record(z.string(), z.array(z.string()).min(1))
        .optional()
        .describe("Named sets of images for plan/apply --group NAME; a matrix image's key stands for all its combinations."),
      images: z.record(z.string(), image).describe("Images by name; the name is also the default repository."),
      sign: sign.optional(),
      build: z
        .strictObject({
          strategy: z.enum(["auto", "bake", "manifest"]).optional().describe("auto (default): bake when the engine builds multi-platform, else manifest."),
          builder: z
            .union([
              z.string().describe("The name of an existing buildx builder."),
              z
                .strictObject({
                  name: z.string().describe("The builder's name (docker buildx create --name)."),
                  driver: z.enum(["docker-container", "remote", "kubernetes"]).describe("buildx driver of every node."),
                  nodes: z
                    .array(
                      z.strictObject({
                        name: z.string().optional().describe("Node name. Default: BUILDER-N."),
                        platforms: z.array(z.string()).min(1).describe("Platforms this node builds natively, e.g. [linux/arm64, linux/arm/v7]."),
                        endpoint: z
                          .string()
                          .optional()
                          .describe("Where the node runs: a docker context or host (docker-container), a buildkitd address (remote, required)."),
                        driverOpts: z.record(z.string(), z.string()).optional().describe("--driver-opt KEY=VALUE, e.g. namespace for kubernetes."),
                      }),
                    )
                    .min(1)
                    .describe("One node per platform group; buildx sends each platform to the node that lists it."),
                })
                .describe("A multi-node builder: multiarch plan compiles the docker buildx create commands that make it."),
            ])
            .optional()
            .describe("buildx builder to use. Default: the current one."),
          concurrency: z.number().int().min(1).optional().describe("Parallel per-arch builds in the manifest strategy. Default: number of cores."),
          ociLabels: z
            .boolean()
            .optional()
            .describe("Add org.opencontainers.image.source, revision and created (from SOURCE_DATE_EPOCH, the commit's time) to every image. Default: true."),
        })
        .optional()
        .describe("How images are built."),
    })
    .describe("multiarch.yaml: images x platforms x registries.");
}

export type SpecInput = z.infer<ReturnType<typeof build>>;
export type ImageInput = SpecInput["images"][string];
